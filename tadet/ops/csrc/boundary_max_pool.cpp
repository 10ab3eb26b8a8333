// Boundary max pooling: CPU kernels (forward / backward) and the CPU / CUDA dispatch.
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ext.h"

namespace tadet {

// trunc(a) clamped to [0, T-1]; NaN and negative values map to 0.
template <typename scalar_t>
inline int64_t seg_index(scalar_t a, int64_t T) {
  const double d = static_cast<double>(a);
  if (!(d >= 0.0)) return 0;
  if (d >= static_cast<double>(T - 1)) return T - 1;
  return static_cast<int64_t>(d);
}

std::vector<at::Tensor> boundary_max_pool_forward_cpu(const at::Tensor& x_in,
                                                      const at::Tensor& seg_in) {
  check_cpu_float(x_in, "x");
  TORCH_CHECK(x_in.dim() == 3, "x must be [B, C, T]");
  TORCH_CHECK(seg_in.dim() == 3 && seg_in.size(2) == 4, "segments must be [B, K, 4]");
  TORCH_CHECK(seg_in.size(0) == x_in.size(0), "x and segments batch sizes differ");
  const auto x = x_in.contiguous();
  const auto seg = seg_in.to(x.scalar_type()).contiguous();
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = seg.size(1);
  TORCH_CHECK(C % 2 == 0, "boundary max pooling needs an even number of channels, got ", C);
  auto out = at::empty({B, C, K}, x.options());
  auto arg = at::empty({B, C, K}, x.options().dtype(at::kLong));
  if (out.numel() == 0) return {out, arg};
  TORCH_CHECK(T > 0, "boundary max pooling needs T >= 1");
  // Channel-innermost layout: one task = (batch, half, segment); the scan over t updates all
  // channels of the half at once (branch-free, vectorisable) instead of one channel at a time.
  const auto xt = x.transpose(1, 2).contiguous();  // [B, T, C]
  const int64_t half = C / 2;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "boundary_max_pool_forward_cpu", [&] {
    const scalar_t* xp = xt.data_ptr<scalar_t>();
    const scalar_t* sp = seg.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    int64_t* ap = arg.data_ptr<int64_t>();
    // integer bounds first (cheap), also giving the total work for the grain size
    std::vector<int64_t> lr(static_cast<size_t>(B * K * 4));
    int64_t work = 0;
    for (int64_t i = 0; i < B * K * 4; i += 2) {
      const int64_t l = seg_index(sp[i], T);
      const int64_t r = std::max(seg_index(sp[i + 1], T), l);
      lr[i] = l;
      lr[i + 1] = r;
      work += (r - l + 1) * half;
    }
    const int64_t tasks = B * 2 * K;
    const int64_t per_task = std::max<int64_t>(1, work / std::max<int64_t>(1, tasks));
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / per_task);
    // The running argmax is kept in the data type (exact below 2^24 for float) so that the
    // inner loop has one element width and vectorises; int64 for longer float sequences.
    auto run = [&](auto idx_tag) {
      using idx_t = decltype(idx_tag);
      at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> best(half);
        std::vector<idx_t> bidx(half);
        for (int64_t task = begin; task < end; ++task) {
          const int64_t k = task % K;
          const int64_t h = (task / K) % 2;
          const int64_t b = task / (2 * K);
          const int64_t l = lr[(b * K + k) * 4 + 2 * h];
          const int64_t r = lr[(b * K + k) * 4 + 2 * h + 1];
          const int64_t c0 = h * half;
          const scalar_t* base = xp + b * T * C + c0;
          scalar_t* __restrict__ bp = best.data();
          idx_t* __restrict__ ip = bidx.data();
          const scalar_t* row = base + l * C;
          for (int64_t c = 0; c < half; ++c) {
            bp[c] = row[c];
            ip[c] = static_cast<idx_t>(l);
          }
          for (int64_t t = l + 1; t <= r; ++t) {
            const scalar_t* __restrict__ rw = base + t * C;
            const idx_t ti = static_cast<idx_t>(t);
            for (int64_t c = 0; c < half; ++c) {
              const scalar_t v = rw[c];
              const scalar_t cur = bp[c];
              // take v if v > cur or v is NaN, unless cur is already NaN (torch.max
              // semantics: NaN propagates, the first index wins)
              const bool take = (cur == cur) & !(v <= cur);
              bp[c] = take ? v : cur;
              ip[c] = take ? ti : ip[c];
            }
          }
          for (int64_t c = 0; c < half; ++c) {
            op[(b * C + c0 + c) * K + k] = bp[c];
            ap[(b * C + c0 + c) * K + k] = static_cast<int64_t>(ip[c]);
          }
        }
      });
    };
    if (std::is_same<scalar_t, float>::value && T > (int64_t(1) << 24)) {
      run(int64_t(0));
    } else {
      run(scalar_t(0));
    }
  });
  return {out, arg};
}

at::Tensor boundary_max_pool_backward_cpu(const at::Tensor& grad_in, const at::Tensor& arg_in,
                                          int64_t T) {
  check_cpu_float(grad_in, "grad_output");
  const auto grad = grad_in.contiguous();
  const auto arg = arg_in.contiguous();
  const int64_t B = grad.size(0), C = grad.size(1), K = grad.size(2);
  auto gx = at::zeros({B, C, T}, grad.options());
  if (grad.numel() == 0 || T == 0) return gx;
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "boundary_max_pool_backward_cpu", [&] {
    const scalar_t* gp = grad.data_ptr<scalar_t>();
    const int64_t* ap = arg.data_ptr<int64_t>();
    scalar_t* xp = gx.data_ptr<scalar_t>();
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, K + T));
    at::parallel_for(0, B * C, grain, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        scalar_t* xr = xp + row * T;  // each row owned by one thread: no races
        const scalar_t* gr = gp + row * K;
        const int64_t* ar = ap + row * K;
        for (int64_t k = 0; k < K; ++k) xr[ar[k]] += gr[k];
      }
    });
  });
  return gx;
}

std::vector<at::Tensor> boundary_max_pool_forward(const at::Tensor& x, const at::Tensor& seg) {
  if (x.is_cuda()) {
#ifdef WITH_CUDA
    return boundary_max_pool_forward_cuda(x, seg);
#else
    TORCH_CHECK(false, "tadet._ext was built without CUDA");
#endif
  }
  return boundary_max_pool_forward_cpu(x, seg);
}

at::Tensor boundary_max_pool_backward(const at::Tensor& grad, const at::Tensor& arg, int64_t T) {
  if (grad.is_cuda()) {
#ifdef WITH_CUDA
    return boundary_max_pool_backward_cuda(grad, arg, T);
#else
    TORCH_CHECK(false, "tadet._ext was built without CUDA");
#endif
  }
  return boundary_max_pool_backward_cpu(grad, arg, T);
}

}  // namespace tadet
