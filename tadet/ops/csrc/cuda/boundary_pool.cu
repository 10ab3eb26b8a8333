// Boundary max pooling (AFSD) CUDA kernels, raw pointers, CUDA headers only.
// Launchers are extern "C"; the ATen glue is tadet/ops/csrc/cuda_glue.cpp.
//
// Forward: out[b, c, k] = max over x[b, c, l..r] (first index on ties), l/r = trunc of the
// segment bounds clamped to [0, T-1]; channels [0, C/2) use (start_l, start_r), [C/2, C) use
// (end_l, end_r); r < l pools x[l]. The argmax is stored for the backward pass.
// Backward: grad_x[b, c, argmax[b, c, k]] += grad_out[b, c, k]. The row offset uses T (the
// public AFSD kernel uses K here, which is wrong whenever K != T).
#include "common.cuh"

namespace {

template <typename scalar_t>
__device__ inline int64_t seg_index(scalar_t a, int64_t T) {
  const double d = static_cast<double>(a);
  if (!(d >= 0.0)) return 0;
  if (d >= static_cast<double>(T - 1)) return T - 1;
  return static_cast<int64_t>(d);
}

template <typename scalar_t>
__global__ void bmp_forward_kernel(const scalar_t* __restrict__ x,
                                   const scalar_t* __restrict__ seg, scalar_t* __restrict__ out,
                                   int64_t* __restrict__ argmax, int64_t B, int64_t C, int64_t T,
                                   int64_t K) {
  const int64_t total = B * C * K;
  const int64_t half = C / 2;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)blockDim.x * gridDim.x) {
    const int64_t k = i % K;
    const int64_t row = i / K;  // b * C + c
    const int64_t c = row % C;
    const int64_t b = row / C;
    const int64_t off = c < half ? 0 : 2;
    const scalar_t* s = seg + (b * K + k) * 4;
    const int64_t l = seg_index(s[off], T);
    const int64_t r = seg_index(s[off + 1], T);
    const scalar_t* xr = x + row * T;
    scalar_t best = xr[l];
    int64_t bi = l;
    if (best == best) {
      for (int64_t t = l + 1; t <= r; ++t) {
        const scalar_t v = xr[t];
        if (!(v <= best)) {
          best = v;
          bi = t;
          if (v != v) break;
        }
      }
    }
    out[i] = best;
    argmax[i] = bi;
  }
}

template <typename scalar_t>
__global__ void bmp_backward_kernel(const scalar_t* __restrict__ grad,
                                    const int64_t* __restrict__ argmax,
                                    scalar_t* __restrict__ grad_x, int64_t rows, int64_t T,
                                    int64_t K) {
  const int64_t total = rows * K;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)blockDim.x * gridDim.x) {
    const int64_t row = i / K;
    tadet_cuda::atomic_add(grad_x + row * T + argmax[i], grad[i]);
  }
}

template <typename scalar_t>
int bmp_forward(const scalar_t* x, const scalar_t* seg, scalar_t* out, int64_t* argmax,
                int64_t B, int64_t C, int64_t T, int64_t K, void* stream) {
  const int64_t total = B * C * K;
  if (total == 0) return 0;
  bmp_forward_kernel<scalar_t>
      <<<tadet_cuda::num_blocks(total), tadet_cuda::kThreads, 0, (cudaStream_t)stream>>>(
          x, seg, out, argmax, B, C, T, K);
  return static_cast<int>(cudaGetLastError());
}

template <typename scalar_t>
int bmp_backward(const scalar_t* grad, const int64_t* argmax, scalar_t* grad_x, int64_t rows,
                 int64_t T, int64_t K, void* stream) {
  const int64_t total = rows * K;
  if (total == 0) return 0;
  bmp_backward_kernel<scalar_t>
      <<<tadet_cuda::num_blocks(total), tadet_cuda::kThreads, 0, (cudaStream_t)stream>>>(
          grad, argmax, grad_x, rows, T, K);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

extern "C" {

int tadet_bmp_forward_f32(const float* x, const float* seg, float* out, int64_t* argmax,
                          int64_t B, int64_t C, int64_t T, int64_t K, void* stream) {
  return bmp_forward<float>(x, seg, out, argmax, B, C, T, K, stream);
}
int tadet_bmp_forward_f64(const double* x, const double* seg, double* out, int64_t* argmax,
                          int64_t B, int64_t C, int64_t T, int64_t K, void* stream) {
  return bmp_forward<double>(x, seg, out, argmax, B, C, T, K, stream);
}
int tadet_bmp_backward_f32(const float* grad, const int64_t* argmax, float* grad_x, int64_t rows,
                           int64_t T, int64_t K, void* stream) {
  return bmp_backward<float>(grad, argmax, grad_x, rows, T, K, stream);
}
int tadet_bmp_backward_f64(const double* grad, const int64_t* argmax, double* grad_x,
                           int64_t rows, int64_t T, int64_t K, void* stream) {
  return bmp_backward<double>(grad, argmax, grad_x, rows, T, K, stream);
}
const char* tadet_cuda_error_string(int err) {
  return cudaGetErrorString(static_cast<cudaError_t>(err));
}

}  // extern "C"
