// tadet._ext: CPU kernels for the tadet temporal ops, plus the Python bindings.
//
// Semantics are documented in docs/ops.md (boundary max pooling, 1D RoIAlign, 1D NMS/soft-NMS).
// CUDA kernels live in csrc/cuda/*.cu (raw pointers, CUDA headers only); their ATen glue is
// csrc/cuda_glue.cpp, compiled only when the extension is built with CUDA (WITH_CUDA).
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

namespace tadet {

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

// trunc(a) clamped to [0, T-1]; NaN and negative values map to 0.
template <typename scalar_t>
inline int64_t seg_index(scalar_t a, int64_t T) {
  const double d = static_cast<double>(a);
  if (!(d >= 0.0)) return 0;
  if (d >= static_cast<double>(T - 1)) return T - 1;
  return static_cast<int64_t>(d);
}

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

static void check_cpu_float(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be a CPU tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, name,
              " must be float32 or float64 (half/bfloat16 are computed in float32 by the "
              "Python wrapper), got ", t.scalar_type());
}

// ---------------------------------------------------------------------------------------------
// boundary max pooling
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 1D RoIAlign
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 1D NMS / soft-NMS (class-agnostic; the Python wrapper groups by class)
// ---------------------------------------------------------------------------------------------

template <typename scalar_t>
inline scalar_t iou_1d(scalar_t s1, scalar_t e1, scalar_t s2, scalar_t e2) {
  const scalar_t inter = std::max(std::min(e1, e2) - std::max(s1, s2), static_cast<scalar_t>(0));
  const scalar_t uni = (e1 - s1) + (e2 - s2) - inter;
  return uni > 0 ? inter / uni : static_cast<scalar_t>(0);
}

static void check_nms_inputs(const at::Tensor& seg, const at::Tensor& scores) {
  check_cpu_float(seg, "segments");
  TORCH_CHECK(seg.dim() == 2 && seg.size(1) == 2, "segments must be [N, 2]");
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == seg.size(0), "scores must be [N]");
}

// One group (class) of candidates, in input order: ids are the original indices (increasing).
// Appends the kept ids and their final scores in pick order (descending final score).
template <typename scalar_t>
void hard_nms_group(const scalar_t* sp, const scalar_t* sc, const std::vector<int64_t>& ids,
                    scalar_t thr, int64_t max_num, std::vector<int64_t>& keep,
                    std::vector<scalar_t>& kept) {
  const int64_t n = static_cast<int64_t>(ids.size());
  std::vector<int64_t> order(ids);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return sc[a] > sc[b]; });
  std::vector<scalar_t> st(n), en(n);
  for (int64_t i = 0; i < n; ++i) {
    st[i] = sp[order[i] * 2];
    en[i] = sp[order[i] * 2 + 1];
  }
  std::vector<uint8_t> removed(n, 0);
  const bool skip_disjoint = thr > 0;  // iou = 0 cannot reach a positive threshold
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (removed[i]) continue;
    keep.push_back(order[i]);
    kept.push_back(sc[order[i]]);
    if (max_num > 0 && ++count >= max_num) break;
    const scalar_t si = st[i], ei = en[i];
    for (int64_t j = i + 1; j < n; ++j) {
      if (removed[j]) continue;
      if (skip_disjoint && std::min(ei, en[j]) - std::max(si, st[j]) <= 0) continue;
      if (iou_1d(si, ei, st[j], en[j]) >= thr) removed[j] = 1;
    }
  }
}

// method: 1 = linear, 2 = gaussian. Picks stop at max_num (> 0) or when the best remaining score
// is below min_score (dropping during or after the decay gives the same result).
template <typename scalar_t>
void soft_nms_group(const scalar_t* sp, const scalar_t* sc, const std::vector<int64_t>& ids,
                    scalar_t thr, scalar_t sigma, int64_t method, scalar_t min_score,
                    int64_t max_num, std::vector<int64_t>& keep, std::vector<scalar_t>& kept) {
  int64_t n = static_cast<int64_t>(ids.size());
  // compact active set [0, n); idx keeps the original index for tie-breaking and output
  std::vector<scalar_t> st(n), en(n), s(n);
  std::vector<int64_t> idx(ids);
  for (int64_t i = 0; i < n; ++i) {
    st[i] = sp[2 * ids[i]];
    en[i] = sp[2 * ids[i] + 1];
    s[i] = sc[ids[i]];
  }
  auto better = [&](int64_t j, int64_t b) {
    return s[j] > s[b] || (s[j] == s[b] && idx[j] < idx[b]);
  };
  int64_t bi = 0;
  for (int64_t j = 1; j < n; ++j)
    if (better(j, bi)) bi = j;
  int64_t count = 0;
  while (n > 0) {
    if (max_num > 0 && count >= max_num) break;
    if (!(s[bi] >= min_score)) break;
    const scalar_t bs = st[bi], be = en[bi];
    keep.push_back(idx[bi]);
    kept.push_back(s[bi]);
    ++count;
    --n;  // remove bi: move the last active entry into its place
    st[bi] = st[n];
    en[bi] = en[n];
    s[bi] = s[n];
    idx[bi] = idx[n];
    // decay the others and find the next maximum in the same pass; disjoint segments have
    // iou = 0, whose decay factor is exactly 1 in both methods, so they are skipped
    int64_t nb = 0;
    for (int64_t j = 0; j < n; ++j) {
      const scalar_t inter = std::min(be, en[j]) - std::max(bs, st[j]);
      if (inter > 0) {
        const scalar_t iou = iou_1d(bs, be, st[j], en[j]);
        if (method == 1) {
          if (iou >= thr) s[j] *= (static_cast<scalar_t>(1) - iou);
        } else {
          s[j] *= std::exp(-(iou * iou) / sigma);
        }
      }
      if (j > 0 && better(j, nb)) nb = j;
    }
    bi = nb;
  }
}

// Per-class (multiclass) or class-agnostic NMS. method: 0 = hard, 1 = linear, 2 = gaussian.
// Candidates with score < min_score are dropped first. Returns (keep_idx, scores) sorted by
// score (descending, stable over classes in ascending label order), at most max_num (> 0).
std::vector<at::Tensor> batched_nms_1d_cpu(const at::Tensor& seg_in, const at::Tensor& scores_in,
                                           const at::Tensor& labels_in, int64_t method,
                                           double thr, double sigma, double min_score,
                                           int64_t max_num, bool multiclass) {
  check_nms_inputs(seg_in, scores_in);
  TORCH_CHECK(method >= 0 && method <= 2, "batched_nms_1d: method must be 0, 1 or 2");
  TORCH_CHECK(labels_in.dim() == 1 && labels_in.size(0) == seg_in.size(0),
              "labels must be [N]");
  const auto seg = seg_in.contiguous();
  const auto scores = scores_in.to(seg.scalar_type()).contiguous();
  const auto labels = labels_in.to(at::kLong).contiguous();
  const int64_t N = seg.size(0);
  std::vector<int64_t> keep;
  at::Tensor out_scores;
  AT_DISPATCH_FLOATING_TYPES(seg.scalar_type(), "batched_nms_1d_cpu", [&] {
    const scalar_t* sp = seg.data_ptr<scalar_t>();
    const scalar_t* sc = scores.data_ptr<scalar_t>();
    const int64_t* lp = labels.data_ptr<int64_t>();
    const scalar_t ms = static_cast<scalar_t>(min_score);
    std::vector<int64_t> cand;
    cand.reserve(N);
    for (int64_t i = 0; i < N; ++i)
      if (sc[i] >= ms) cand.push_back(i);
    if (multiclass)
      std::stable_sort(cand.begin(), cand.end(),
                       [&](int64_t a, int64_t b) { return lp[a] < lp[b]; });
    std::vector<scalar_t> kept;
    std::vector<int64_t> group;
    size_t g0 = 0;
    while (g0 < cand.size()) {
      size_t g1 = g0 + 1;
      if (multiclass) {
        while (g1 < cand.size() && lp[cand[g1]] == lp[cand[g0]]) ++g1;
      } else {
        g1 = cand.size();
      }
      group.assign(cand.begin() + g0, cand.begin() + g1);
      if (method == 0) {
        hard_nms_group<scalar_t>(sp, sc, group, static_cast<scalar_t>(thr), max_num, keep, kept);
      } else {
        soft_nms_group<scalar_t>(sp, sc, group, static_cast<scalar_t>(thr),
                                 static_cast<scalar_t>(sigma), method, ms, max_num, keep, kept);
      }
      g0 = g1;
    }
    // final order: descending score, stable over the concatenation
    std::vector<int64_t> order(keep.size());
    std::iota(order.begin(), order.end(), 0);
    if (multiclass)
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return kept[a] > kept[b]; });
    if (max_num > 0 && static_cast<int64_t>(order.size()) > max_num) order.resize(max_num);
    std::vector<int64_t> keep_sorted(order.size());
    out_scores = at::empty({static_cast<int64_t>(order.size())}, seg.options());
    scalar_t* op = out_scores.data_ptr<scalar_t>();
    for (size_t i = 0; i < order.size(); ++i) {
      keep_sorted[i] = keep[order[i]];
      op[i] = kept[order[i]];
    }
    keep.swap(keep_sorted);
  });
  auto keep_t = at::empty({static_cast<int64_t>(keep.size())}, seg.options().dtype(at::kLong));
  std::copy(keep.begin(), keep.end(), keep_t.data_ptr<int64_t>());
  return {keep_t, out_scores};
}

// Hard NMS of one class: kept indices in descending score order (stable for equal scores).
at::Tensor nms_1d_cpu(const at::Tensor& seg, const at::Tensor& scores, double thr) {
  auto labels = at::zeros({seg.size(0)}, seg.options().dtype(at::kLong));
  return batched_nms_1d_cpu(seg, scores, labels, 0, thr, 0.5,
                            -std::numeric_limits<double>::infinity(), -1, false)[0];
}

// Soft-NMS of one class. method: 1 = linear, 2 = gaussian -> (segments, scores, keep_idx).
std::vector<at::Tensor> soft_nms_1d_cpu(const at::Tensor& seg, const at::Tensor& scores,
                                        double thr, double sigma, int64_t method,
                                        double min_score, int64_t max_num) {
  TORCH_CHECK(method == 1 || method == 2, "soft_nms_1d_cpu: method must be 1 or 2");
  auto labels = at::zeros({seg.size(0)}, seg.options().dtype(at::kLong));
  auto res = batched_nms_1d_cpu(seg, scores, labels, method, thr, sigma, min_score, max_num,
                                false);
  return {seg.contiguous().index_select(0, res[0]), res[1], res[0]};
}

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

// ---------------------------------------------------------------------------------------------
// device dispatch
// ---------------------------------------------------------------------------------------------

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
