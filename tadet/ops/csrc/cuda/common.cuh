// Shared device helpers for the tadet CUDA kernels (CUDA headers only, no ATen).
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

namespace tadet_cuda {

constexpr int kThreads = 256;

inline int num_blocks(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  const int64_t cap = 65535LL * 8;
  return static_cast<int>(b < 1 ? 1 : (b > cap ? cap : b));
}

// double atomicAdd exists natively from sm_60; emulate it below that.
__device__ inline float atomic_add(float* addr, float v) { return atomicAdd(addr, v); }

__device__ inline double atomic_add(double* addr, double v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 600
  unsigned long long int* p = reinterpret_cast<unsigned long long int*>(addr);
  unsigned long long int old = *p, assumed;
  do {
    assumed = old;
    old = atomicCAS(p, assumed, __double_as_longlong(v + __longlong_as_double(assumed)));
  } while (assumed != old);
  return __longlong_as_double(old);
#else
  return atomicAdd(addr, v);
#endif
}

}  // namespace tadet_cuda
