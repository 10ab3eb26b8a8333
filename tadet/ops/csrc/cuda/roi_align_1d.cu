// 1D RoIAlign CUDA kernels, raw pointers, CUDA headers only.
// Launchers are extern "C"; the ATen glue is tadet/ops/csrc/cuda_glue.cpp.
//
// rois [N, 3] = (batch_index, start, end). Bin p of P: len = max(end - start, 1), bin = len / P,
// G = sampling_ratio > 0 ? sampling_ratio : ceil(len / P) samples at
// t = start + p * bin + (g + 0.5) * bin / G, output = mean of the G linearly interpolated samples
// (t < -1 or t > T -> 0; t <= 0 -> x[0]; floor(t) >= T - 1 -> x[T - 1]). aligned shifts by -0.5.
// Backward: each sample adds grad * weight / G to its two neighbours (atomics).
#include "common.cuh"

namespace {

template <typename scalar_t>
__device__ inline void interp_weights(scalar_t t, int64_t T, int64_t& lo, int64_t& hi,
                                      scalar_t& wl, scalar_t& wh) {
  if (t < static_cast<scalar_t>(-1) || t > static_cast<scalar_t>(T)) {
    lo = hi = 0;
    wl = wh = 0;
    return;
  }
  if (t <= 0) t = 0;
  const int64_t l = static_cast<int64_t>(t);
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

// Decodes roi n; returns false for an invalid batch index (output stays 0, no gradient).
template <typename scalar_t>
__device__ inline bool roi_geometry(const scalar_t* roi, int64_t B, int64_t P,
                                    int64_t sampling_ratio, bool aligned, int64_t& b,
                                    scalar_t& start, scalar_t& bin, int64_t& G) {
  if (!(roi[0] >= 0)) return false;
  b = static_cast<int64_t>(roi[0]);
  if (b >= B) return false;
  const scalar_t offset = aligned ? static_cast<scalar_t>(0.5) : static_cast<scalar_t>(0);
  start = roi[1] - offset;
  const scalar_t end = roi[2] - offset;
  scalar_t len = end - start;
  if (len < static_cast<scalar_t>(1)) len = static_cast<scalar_t>(1);
  bin = len / static_cast<scalar_t>(P);
  G = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(ceil(len / P));
  if (G < 1) G = 1;
  return true;
}

template <typename scalar_t>
__global__ void roi_align_forward_kernel(const scalar_t* __restrict__ x,
                                         const scalar_t* __restrict__ rois,
                                         scalar_t* __restrict__ out, int64_t N, int64_t B,
                                         int64_t C, int64_t T, int64_t P,
                                         int64_t sampling_ratio, bool aligned) {
  const int64_t total = N * C * P;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)blockDim.x * gridDim.x) {
    const int64_t p = i % P;
    const int64_t c = (i / P) % C;
    const int64_t n = i / (P * C);
    int64_t b, G;
    scalar_t start, bin;
    if (!roi_geometry(rois + n * 3, B, P, sampling_ratio, aligned, b, start, bin, G)) {
      out[i] = 0;
      continue;
    }
    const scalar_t* xr = x + (b * C + c) * T;
    const scalar_t base = start + static_cast<scalar_t>(p) * bin;
    const scalar_t Gs = static_cast<scalar_t>(G);
    scalar_t acc = 0;
    for (int64_t g = 0; g < G; ++g) {
      const scalar_t t = base + (static_cast<scalar_t>(g) + static_cast<scalar_t>(0.5)) * bin / Gs;
      int64_t lo, hi;
      scalar_t wl, wh;
      interp_weights(t, T, lo, hi, wl, wh);
      acc += wl * xr[lo] + wh * xr[hi];
    }
    out[i] = acc / Gs;
  }
}

template <typename scalar_t>
__global__ void roi_align_backward_kernel(const scalar_t* __restrict__ grad,
                                          const scalar_t* __restrict__ rois,
                                          scalar_t* __restrict__ grad_x, int64_t N, int64_t B,
                                          int64_t C, int64_t T, int64_t P,
                                          int64_t sampling_ratio, bool aligned) {
  const int64_t total = N * C * P;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)blockDim.x * gridDim.x) {
    const int64_t p = i % P;
    const int64_t c = (i / P) % C;
    const int64_t n = i / (P * C);
    int64_t b, G;
    scalar_t start, bin;
    if (!roi_geometry(rois + n * 3, B, P, sampling_ratio, aligned, b, start, bin, G)) continue;
    scalar_t* gx = grad_x + (b * C + c) * T;
    const scalar_t base = start + static_cast<scalar_t>(p) * bin;
    const scalar_t Gs = static_cast<scalar_t>(G);
    const scalar_t gg = grad[i] / Gs;
    for (int64_t g = 0; g < G; ++g) {
      const scalar_t t = base + (static_cast<scalar_t>(g) + static_cast<scalar_t>(0.5)) * bin / Gs;
      int64_t lo, hi;
      scalar_t wl, wh;
      interp_weights(t, T, lo, hi, wl, wh);
      if (wl != static_cast<scalar_t>(0)) tadet_cuda::atomic_add(gx + lo, wl * gg);
      if (wh != static_cast<scalar_t>(0)) tadet_cuda::atomic_add(gx + hi, wh * gg);
    }
  }
}

template <typename scalar_t>
int roi_forward(const scalar_t* x, const scalar_t* rois, scalar_t* out, int64_t N, int64_t B,
                int64_t C, int64_t T, int64_t P, int64_t sr, bool aligned, void* stream) {
  const int64_t total = N * C * P;
  if (total == 0) return 0;
  roi_align_forward_kernel<scalar_t>
      <<<tadet_cuda::num_blocks(total), tadet_cuda::kThreads, 0, (cudaStream_t)stream>>>(
          x, rois, out, N, B, C, T, P, sr, aligned);
  return static_cast<int>(cudaGetLastError());
}

template <typename scalar_t>
int roi_backward(const scalar_t* grad, const scalar_t* rois, scalar_t* grad_x, int64_t N,
                 int64_t B, int64_t C, int64_t T, int64_t P, int64_t sr, bool aligned,
                 void* stream) {
  const int64_t total = N * C * P;
  if (total == 0) return 0;
  roi_align_backward_kernel<scalar_t>
      <<<tadet_cuda::num_blocks(total), tadet_cuda::kThreads, 0, (cudaStream_t)stream>>>(
          grad, rois, grad_x, N, B, C, T, P, sr, aligned);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

extern "C" {

int tadet_roi_align_1d_forward_f32(const float* x, const float* rois, float* out, int64_t N,
                                   int64_t B, int64_t C, int64_t T, int64_t P, int64_t sr,
                                   bool aligned, void* stream) {
  return roi_forward<float>(x, rois, out, N, B, C, T, P, sr, aligned, stream);
}
int tadet_roi_align_1d_forward_f64(const double* x, const double* rois, double* out, int64_t N,
                                   int64_t B, int64_t C, int64_t T, int64_t P, int64_t sr,
                                   bool aligned, void* stream) {
  return roi_forward<double>(x, rois, out, N, B, C, T, P, sr, aligned, stream);
}
int tadet_roi_align_1d_backward_f32(const float* grad, const float* rois, float* grad_x,
                                    int64_t N, int64_t B, int64_t C, int64_t T, int64_t P,
                                    int64_t sr, bool aligned, void* stream) {
  return roi_backward<float>(grad, rois, grad_x, N, B, C, T, P, sr, aligned, stream);
}
int tadet_roi_align_1d_backward_f64(const double* grad, const double* rois, double* grad_x,
                                    int64_t N, int64_t B, int64_t C, int64_t T, int64_t P,
                                    int64_t sr, bool aligned, void* stream) {
  return roi_backward<double>(grad, rois, grad_x, N, B, C, T, P, sr, aligned, stream);
}

}  // extern "C"
