// 1D NMS / soft-NMS (CPU; class-agnostic or per class, the Python wrapper picks).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ext.h"

namespace tadet {

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

}  // namespace tadet
