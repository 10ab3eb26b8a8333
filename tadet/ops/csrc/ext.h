// Declarations shared by the translation units of tadet._ext: one .cpp per op (CPU kernels and
// the CPU / CUDA dispatch of that op) and bindings.cpp (the Python module).
//
// Semantics are documented in docs/ops.md (boundary max pooling, 1D RoIAlign, 1D NMS/soft-NMS).
// CUDA kernels live in csrc/cuda/*.cu (raw pointers, CUDA headers only); their ATen glue is
// csrc/cuda_glue.cpp, compiled only when the extension is built with CUDA (WITH_CUDA).
#pragma once

// ATen only (not torch/extension.h, which only bindings.cpp needs): much faster to compile
#include <ATen/ATen.h>

#include <vector>

namespace tadet {

inline void check_cpu_float(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be a CPU tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, name,
              " must be float32 or float64 (half/bfloat16 are computed in float32 by the "
              "Python wrapper), got ", t.scalar_type());
}

// boundary_max_pool.cpp (device dispatch)
std::vector<at::Tensor> boundary_max_pool_forward(const at::Tensor& x, const at::Tensor& seg);
at::Tensor boundary_max_pool_backward(const at::Tensor& grad, const at::Tensor& arg, int64_t T);

// roi_align_1d.cpp (device dispatch)
at::Tensor roi_align_1d_forward(const at::Tensor& x, const at::Tensor& rois, int64_t P,
                                int64_t sampling_ratio, bool aligned);
at::Tensor roi_align_1d_backward(const at::Tensor& grad, const at::Tensor& rois, int64_t B,
                                 int64_t T, int64_t sampling_ratio, bool aligned);

// nms_1d.cpp (CPU only)
std::vector<at::Tensor> batched_nms_1d_cpu(const at::Tensor& seg, const at::Tensor& scores,
                                           const at::Tensor& labels, int64_t method,
                                           double thr, double sigma, double min_score,
                                           int64_t max_num, bool multiclass);
at::Tensor nms_1d_cpu(const at::Tensor& seg, const at::Tensor& scores, double thr);
std::vector<at::Tensor> soft_nms_1d_cpu(const at::Tensor& seg, const at::Tensor& scores,
                                        double thr, double sigma, int64_t method,
                                        double min_score, int64_t max_num);

#ifdef WITH_CUDA
// implemented in cuda_glue.cpp
std::vector<at::Tensor> boundary_max_pool_forward_cuda(const at::Tensor& x,
                                                       const at::Tensor& seg);
at::Tensor boundary_max_pool_backward_cuda(const at::Tensor& grad, const at::Tensor& arg,
                                           int64_t T);
at::Tensor roi_align_1d_forward_cuda(const at::Tensor& x, const at::Tensor& rois, int64_t P,
                                     int64_t sampling_ratio, bool aligned);
at::Tensor roi_align_1d_backward_cuda(const at::Tensor& grad, const at::Tensor& rois, int64_t B,
                                      int64_t T, int64_t sampling_ratio, bool aligned);
#endif

}  // namespace tadet
