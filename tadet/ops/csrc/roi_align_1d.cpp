// 1D RoIAlign: CPU kernels (forward / backward) and the CPU / CUDA dispatch.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ext.h"

namespace tadet {

// Linear interpolation weights of coordinate t on a length-T sequence (METHODS.md rule).
template <typename scalar_t>
inline void interp_weights(scalar_t t, int64_t T, int64_t& lo, int64_t& hi, scalar_t& wl,
                           scalar_t& wh) {
  if (t < static_cast<scalar_t>(-1) || t > static_cast<scalar_t>(T)) {
    lo = hi = 0;
    wl = wh = 0;
    return;
  }
  if (t <= 0) t = 0;
  const int64_t l = static_cast<int64_t>(t);  // t >= 0: floor
  if (l >= T - 1) {
    lo = hi = T - 1;
    wl = 1;
    wh = 0;
    return;
  }
  lo = l;
  hi = l + 1;
  const scalar_t frac = t - static_cast<scalar_t>(l);
  wl = static_cast<scalar_t>(1) - frac;
  wh = frac;
}

template <typename scalar_t>
struct RoiSamples {
  std::vector<int64_t> lo, hi;
  std::vector<scalar_t> wl, wh;
  int64_t G = 0;
  // Fills P*G samples of one roi; returns false when the batch index is invalid.
  bool fill(const scalar_t* roi, int64_t B, int64_t T, int64_t P, int64_t sampling_ratio,
            bool aligned, int64_t& b) {
    b = static_cast<int64_t>(roi[0]);
    if (!(roi[0] >= 0) || b >= B) return false;
    const scalar_t offset = aligned ? static_cast<scalar_t>(0.5) : static_cast<scalar_t>(0);
    const scalar_t start = roi[1] - offset;
    const scalar_t end = roi[2] - offset;
    const scalar_t len = std::max(end - start, static_cast<scalar_t>(1));
    const scalar_t bin = len / static_cast<scalar_t>(P);
    G = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(len / P));
    if (G < 1) G = 1;
    const size_t n = static_cast<size_t>(P * G);
    if (lo.size() < n) {
      lo.resize(n);
      hi.resize(n);
      wl.resize(n);
      wh.resize(n);
    }
    const scalar_t Gs = static_cast<scalar_t>(G);
    for (int64_t p = 0; p < P; ++p) {
      const scalar_t base = start + static_cast<scalar_t>(p) * bin;
      for (int64_t g = 0; g < G; ++g) {
        const scalar_t t = base + (static_cast<scalar_t>(g) + static_cast<scalar_t>(0.5)) * bin / Gs;
        const int64_t i = p * G + g;
        interp_weights(t, T, lo[i], hi[i], wl[i], wh[i]);
      }
    }
    return true;
  }
};

static void check_rois(const at::Tensor& x, const at::Tensor& rois, int64_t P) {
  TORCH_CHECK(x.dim() == 3, "x must be [B, C, T]");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 3, "rois must be [N, 3] (batch, start, end)");
  TORCH_CHECK(P > 0, "output_size must be positive");
}

at::Tensor roi_align_1d_forward_cpu(const at::Tensor& x_in, const at::Tensor& rois_in,
                                    int64_t P, int64_t sampling_ratio, bool aligned) {
  check_cpu_float(x_in, "x");
  check_rois(x_in, rois_in, P);
  const auto x = x_in.contiguous();
  const auto rois = rois_in.to(x.scalar_type()).contiguous();
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), N = rois.size(0);
  auto out = at::zeros({N, C, P}, x.options());
  if (out.numel() == 0) return out;
  TORCH_CHECK(T > 0, "roi_align_1d needs T >= 1");
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "roi_align_1d_forward_cpu", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* rp = rois.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) {
      RoiSamples<scalar_t> s;
      for (int64_t n = begin; n < end; ++n) {
        int64_t b;
        if (!s.fill(rp + n * 3, B, T, P, sampling_ratio, aligned, b)) continue;
        const int64_t G = s.G;
        const scalar_t Gs = static_cast<scalar_t>(G);
        const int64_t* lo = s.lo.data();
        const int64_t* hi = s.hi.data();
        const scalar_t* wl = s.wl.data();
        const scalar_t* wh = s.wh.data();
        for (int64_t c = 0; c < C; ++c) {
          const scalar_t* xr = xp + (b * C + c) * T;
          scalar_t* orow = op + (n * C + c) * P;
          for (int64_t p = 0; p < P; ++p) {
            scalar_t acc = 0;
            const int64_t i0 = p * G;
            for (int64_t g = 0; g < G; ++g) {
              const int64_t i = i0 + g;
              acc += wl[i] * xr[lo[i]] + wh[i] * xr[hi[i]];
            }
            orow[p] = acc / Gs;
          }
        }
      }
    });
  });
  return out;
}

at::Tensor roi_align_1d_backward_cpu(const at::Tensor& grad_in, const at::Tensor& rois_in,
                                     int64_t B, int64_t T, int64_t sampling_ratio,
                                     bool aligned) {
  check_cpu_float(grad_in, "grad_output");
  const auto grad = grad_in.contiguous();
  const auto rois = rois_in.to(grad.scalar_type()).contiguous();
  const int64_t N = grad.size(0), C = grad.size(1), P = grad.size(2);
  auto gx = at::zeros({B, C, T}, grad.options());
  if (grad.numel() == 0 || gx.numel() == 0) return gx;
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "roi_align_1d_backward_cpu", [&] {
    const scalar_t* gp = grad.data_ptr<scalar_t>();
    const scalar_t* rp = rois.data_ptr<scalar_t>();
    scalar_t* xp = gx.data_ptr<scalar_t>();
    // Parallel over channels: a thread owns grad_x[:, c0:c1, :], so accumulation has no races.
    const int64_t nthreads = std::max<int64_t>(1, at::get_num_threads());
    const int64_t grain = std::max<int64_t>(1, C / nthreads);
    at::parallel_for(0, C, grain, [&](int64_t c0, int64_t c1) {
      RoiSamples<scalar_t> s;
      for (int64_t n = 0; n < N; ++n) {
        int64_t b;
        if (!s.fill(rp + n * 3, B, T, P, sampling_ratio, aligned, b)) continue;
        const int64_t G = s.G;
        const scalar_t Gs = static_cast<scalar_t>(G);
        const int64_t* lo = s.lo.data();
        const int64_t* hi = s.hi.data();
        const scalar_t* wl = s.wl.data();
        const scalar_t* wh = s.wh.data();
        for (int64_t c = c0; c < c1; ++c) {
          scalar_t* xr = xp + (b * C + c) * T;
          const scalar_t* grow = gp + (n * C + c) * P;
          for (int64_t p = 0; p < P; ++p) {
            const scalar_t gg = grow[p] / Gs;
            const int64_t i0 = p * G;
            for (int64_t g = 0; g < G; ++g) {
              const int64_t i = i0 + g;
              xr[lo[i]] += wl[i] * gg;
              xr[hi[i]] += wh[i] * gg;
            }
          }
        }
      }
    });
  });
  return gx;
}

at::Tensor roi_align_1d_forward(const at::Tensor& x, const at::Tensor& rois, int64_t P,
                                int64_t sampling_ratio, bool aligned) {
  if (x.is_cuda()) {
#ifdef WITH_CUDA
    return roi_align_1d_forward_cuda(x, rois, P, sampling_ratio, aligned);
#else
    TORCH_CHECK(false, "tadet._ext was built without CUDA");
#endif
  }
  return roi_align_1d_forward_cpu(x, rois, P, sampling_ratio, aligned);
}

at::Tensor roi_align_1d_backward(const at::Tensor& grad, const at::Tensor& rois, int64_t B,
                                 int64_t T, int64_t sampling_ratio, bool aligned) {
  if (grad.is_cuda()) {
#ifdef WITH_CUDA
    return roi_align_1d_backward_cuda(grad, rois, B, T, sampling_ratio, aligned);
#else
    TORCH_CHECK(false, "tadet._ext was built without CUDA");
#endif
  }
  return roi_align_1d_backward_cpu(grad, rois, B, T, sampling_ratio, aligned);
}

}  // namespace tadet
