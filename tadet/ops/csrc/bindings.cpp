// tadet._ext: the Python bindings of the tadet temporal ops (kernels: one .cpp per op, see
// ext.h; CUDA kernels: cuda/*.cu with their ATen glue in cuda_glue.cpp).
#include <torch/extension.h>

#include "ext.h"

namespace tadet {

bool has_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace tadet

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "tadet compiled temporal ops (see docs/ops.md)";
  m.def("has_cuda", &tadet::has_cuda, "whether the CUDA kernels were compiled in");
  m.def("boundary_max_pool_forward", &tadet::boundary_max_pool_forward,
        "boundary max pooling forward -> (out, argmax)");
  m.def("boundary_max_pool_backward", &tadet::boundary_max_pool_backward,
        "boundary max pooling backward -> grad_x");
  m.def("roi_align_1d_forward", &tadet::roi_align_1d_forward, "1D RoIAlign forward");
  m.def("roi_align_1d_backward", &tadet::roi_align_1d_backward, "1D RoIAlign backward");
  m.def("nms_1d", &tadet::nms_1d_cpu, "1D hard NMS (CPU)");
  m.def("soft_nms_1d", &tadet::soft_nms_1d_cpu, "1D soft-NMS (CPU)");
  m.def("batched_nms_1d", &tadet::batched_nms_1d_cpu,
        "per-class / agnostic 1D NMS or soft-NMS (CPU) -> (keep_idx, scores)");
}
