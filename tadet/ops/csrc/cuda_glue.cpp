// ATen glue for the CUDA kernels in csrc/cuda/*.cu (compiled only with WITH_CUDA).
#include <torch/extension.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include <vector>

extern "C" {
int tadet_bmp_forward_f32(const float*, const float*, float*, int64_t*, int64_t, int64_t, int64_t,
                          int64_t, void*);
int tadet_bmp_forward_f64(const double*, const double*, double*, int64_t*, int64_t, int64_t,
                          int64_t, int64_t, void*);
int tadet_bmp_backward_f32(const float*, const int64_t*, float*, int64_t, int64_t, int64_t,
                           void*);
int tadet_bmp_backward_f64(const double*, const int64_t*, double*, int64_t, int64_t, int64_t,
                           void*);
int tadet_roi_align_1d_forward_f32(const float*, const float*, float*, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, int64_t, bool, void*);
int tadet_roi_align_1d_forward_f64(const double*, const double*, double*, int64_t, int64_t,
                                   int64_t, int64_t, int64_t, int64_t, bool, void*);
int tadet_roi_align_1d_backward_f32(const float*, const float*, float*, int64_t, int64_t,
                                    int64_t, int64_t, int64_t, int64_t, bool, void*);
int tadet_roi_align_1d_backward_f64(const double*, const double*, double*, int64_t, int64_t,
                                    int64_t, int64_t, int64_t, int64_t, bool, void*);
const char* tadet_cuda_error_string(int);
}

namespace tadet {

static void check_launch(int err, const char* what) {
  TORCH_CHECK(err == 0, what, " CUDA launch failed: ", tadet_cuda_error_string(err));
}

static void check_cuda_float(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda(), name, " must be a CUDA tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, name,
              " must be float32 or float64, got ", t.scalar_type());
}

static void* stream_ptr() {
  return static_cast<void*>(c10::cuda::getCurrentCUDAStream().stream());
}

std::vector<at::Tensor> boundary_max_pool_forward_cuda(const at::Tensor& x_in,
                                                       const at::Tensor& seg_in) {
  check_cuda_float(x_in, "x");
  TORCH_CHECK(x_in.dim() == 3, "x must be [B, C, T]");
  TORCH_CHECK(seg_in.dim() == 3 && seg_in.size(2) == 4, "segments must be [B, K, 4]");
  TORCH_CHECK(seg_in.size(0) == x_in.size(0), "x and segments batch sizes differ");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const auto x = x_in.contiguous();
  const auto seg = seg_in.to(x.device(), x.scalar_type()).contiguous();
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = seg.size(1);
  TORCH_CHECK(C % 2 == 0, "boundary max pooling needs an even number of channels, got ", C);
  auto out = at::empty({B, C, K}, x.options());
  auto arg = at::empty({B, C, K}, x.options().dtype(at::kLong));
  if (out.numel() == 0) return {out, arg};
  TORCH_CHECK(T > 0, "boundary max pooling needs T >= 1");
  int err;
  if (x.scalar_type() == at::kFloat) {
    err = tadet_bmp_forward_f32(x.data_ptr<float>(), seg.data_ptr<float>(),
                                out.data_ptr<float>(), arg.data_ptr<int64_t>(), B, C, T, K,
                                stream_ptr());
  } else {
    err = tadet_bmp_forward_f64(x.data_ptr<double>(), seg.data_ptr<double>(),
                                out.data_ptr<double>(), arg.data_ptr<int64_t>(), B, C, T, K,
                                stream_ptr());
  }
  check_launch(err, "boundary_max_pool_forward");
  return {out, arg};
}

at::Tensor boundary_max_pool_backward_cuda(const at::Tensor& grad_in, const at::Tensor& arg_in,
                                           int64_t T) {
  check_cuda_float(grad_in, "grad_output");
  const c10::cuda::CUDAGuard guard(grad_in.device());
  const auto grad = grad_in.contiguous();
  const auto arg = arg_in.contiguous();
  const int64_t B = grad.size(0), C = grad.size(1), K = grad.size(2);
  auto gx = at::zeros({B, C, T}, grad.options());
  if (grad.numel() == 0 || T == 0) return gx;
  int err;
  if (grad.scalar_type() == at::kFloat) {
    err = tadet_bmp_backward_f32(grad.data_ptr<float>(), arg.data_ptr<int64_t>(),
                                 gx.data_ptr<float>(), B * C, T, K, stream_ptr());
  } else {
    err = tadet_bmp_backward_f64(grad.data_ptr<double>(), arg.data_ptr<int64_t>(),
                                 gx.data_ptr<double>(), B * C, T, K, stream_ptr());
  }
  check_launch(err, "boundary_max_pool_backward");
  return gx;
}

at::Tensor roi_align_1d_forward_cuda(const at::Tensor& x_in, const at::Tensor& rois_in,
                                     int64_t P, int64_t sampling_ratio, bool aligned) {
  check_cuda_float(x_in, "x");
  TORCH_CHECK(x_in.dim() == 3, "x must be [B, C, T]");
  TORCH_CHECK(rois_in.dim() == 2 && rois_in.size(1) == 3, "rois must be [N, 3]");
  TORCH_CHECK(P > 0, "output_size must be positive");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const auto x = x_in.contiguous();
  const auto rois = rois_in.to(x.device(), x.scalar_type()).contiguous();
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), N = rois.size(0);
  auto out = at::zeros({N, C, P}, x.options());
  if (out.numel() == 0) return out;
  TORCH_CHECK(T > 0, "roi_align_1d needs T >= 1");
  int err;
  if (x.scalar_type() == at::kFloat) {
    err = tadet_roi_align_1d_forward_f32(x.data_ptr<float>(), rois.data_ptr<float>(),
                                         out.data_ptr<float>(), N, B, C, T, P, sampling_ratio,
                                         aligned, stream_ptr());
  } else {
    err = tadet_roi_align_1d_forward_f64(x.data_ptr<double>(), rois.data_ptr<double>(),
                                         out.data_ptr<double>(), N, B, C, T, P, sampling_ratio,
                                         aligned, stream_ptr());
  }
  check_launch(err, "roi_align_1d_forward");
  return out;
}

at::Tensor roi_align_1d_backward_cuda(const at::Tensor& grad_in, const at::Tensor& rois_in,
                                      int64_t B, int64_t T, int64_t sampling_ratio,
                                      bool aligned) {
  check_cuda_float(grad_in, "grad_output");
  const c10::cuda::CUDAGuard guard(grad_in.device());
  const auto grad = grad_in.contiguous();
  const auto rois = rois_in.to(grad.device(), grad.scalar_type()).contiguous();
  const int64_t N = grad.size(0), C = grad.size(1), P = grad.size(2);
  auto gx = at::zeros({B, C, T}, grad.options());
  if (grad.numel() == 0 || gx.numel() == 0) return gx;
  int err;
  if (grad.scalar_type() == at::kFloat) {
    err = tadet_roi_align_1d_backward_f32(grad.data_ptr<float>(), rois.data_ptr<float>(),
                                          gx.data_ptr<float>(), N, B, C, T, P, sampling_ratio,
                                          aligned, stream_ptr());
  } else {
    err = tadet_roi_align_1d_backward_f64(grad.data_ptr<double>(), rois.data_ptr<double>(),
                                          gx.data_ptr<double>(), N, B, C, T, P, sampling_ratio,
                                          aligned, stream_ptr());
  }
  check_launch(err, "roi_align_1d_backward");
  return gx;
}

}  // namespace tadet
