"""1D NMS, soft-NMS and batched (per-class) NMS with score voting.

The compiled kernels run on the CPU (NMS is sequential); CUDA inputs are processed on a CPU copy
and the results are returned on the input device.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from ._loader import resolve

NMS_METHODS = ('hard', 'linear', 'gaussian')
BATCHED_NMS_DEFAULTS = dict(
    method='hard',
    iou_threshold=0.5,
    sigma=0.5,
    min_score=0.0,
    max_seg_num=-1,
    multiclass=True,
    voting_thresh=0.0,
)


def segment_iou(s: Tensor, e: Tensor, S: Tensor, E: Tensor) -> Tensor:
    """tIoU with length ``end - start``; 0 where the union is not positive (no 0/0)."""
    inter = (torch.minimum(e, E) - torch.maximum(s, S)).clamp(min=0)
    union = (e - s) + (E - S) - inter
    return torch.where(union > 0, inter / torch.where(union > 0, union, torch.ones_like(union)),
                       torch.zeros_like(union))


def _check(segments: Tensor, scores: Tensor, op: str) -> None:
    if segments.dim() != 2 or segments.size(1) != 2:
        raise ValueError(f'{op}: segments must be [N, 2], got {tuple(segments.shape)}')
    if scores.dim() != 1 or scores.size(0) != segments.size(0):
        raise ValueError(f'{op}: scores must be [N] matching segments, got '
                         f'{tuple(scores.shape)}')


def _float(t: Tensor) -> Tensor:
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


# --------------------------------------------------------------------------------------------
# pure-torch references
# --------------------------------------------------------------------------------------------
def nms_1d_reference(segments: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    order = torch.sort(scores, descending=True, stable=True).indices
    st, en = segments[order, 0], segments[order, 1]
    alive = torch.ones(order.numel(), dtype=torch.bool, device=segments.device)
    keep: List[int] = []
    pos = 0
    n = order.numel()
    while pos < n:
        # next alive position
        rest = torch.nonzero(alive[pos:]).flatten()
        if rest.numel() == 0:
            break
        i = pos + int(rest[0])
        keep.append(i)
        alive[i] = False
        iou = segment_iou(st[i], en[i], st[i + 1:], en[i + 1:])
        alive[i + 1:] &= iou < iou_threshold
        pos = i + 1
    return order[torch.tensor(keep, dtype=torch.long, device=segments.device)]


def soft_nms_1d_reference(segments: Tensor, scores: Tensor, iou_threshold: float, sigma: float,
                          method: str, min_score: float, max_num: int) -> Tuple[Tensor, Tensor]:
    """Returns (keep_idx, final scores) in pick order (descending final score)."""
    s = scores.clone()
    st, en = segments[:, 0], segments[:, 1]
    alive = torch.ones(s.numel(), dtype=torch.bool, device=s.device)
    neg = torch.tensor(float('-inf'), dtype=s.dtype, device=s.device)
    keep: List[int] = []
    kept: List[Tensor] = []
    n_alive = s.numel()
    while n_alive > 0:
        if max_num > 0 and len(keep) >= max_num:
            break
        i = int(torch.where(alive, s, neg).argmax())
        si = s[i].clone()
        if not bool(si >= min_score):
            break
        keep.append(i)
        kept.append(si)
        alive[i] = False
        n_alive -= 1
        iou = segment_iou(st[i], en[i], st, en)
        if method == 'linear':
            decay = torch.where(iou >= iou_threshold, 1 - iou, torch.ones_like(iou))
        else:
            decay = torch.exp(-(iou * iou) / sigma)
        s = torch.where(alive, s * decay, s)
    idx = torch.tensor(keep, dtype=torch.long, device=s.device)
    sc = torch.stack(kept) if kept else s.new_zeros(0)
    return idx, sc


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def nms_1d(segments: Tensor, scores: Tensor, iou_threshold: float, impl: str = 'auto') -> Tensor:
    """Hard 1D NMS: suppress a segment when its tIoU with a kept, higher-scored one is
    ``>= iou_threshold``. Returns kept indices (LongTensor) in descending score order."""
    _check(segments, scores, 'nms_1d')
    device = segments.device
    ext = resolve(impl, torch.device('cpu'), 'nms_1d')
    if segments.size(0) == 0:
        return torch.zeros(0, dtype=torch.long, device=device)
    seg = _float(segments.detach())
    sc = scores.detach().to(seg.dtype)
    if ext is None:
        return nms_1d_reference(seg, sc, float(iou_threshold))
    keep = ext.nms_1d(seg.cpu(), sc.cpu(), float(iou_threshold))
    return keep.to(device)


def _soft_nms_idx(seg: Tensor, sc: Tensor, iou_threshold: float, sigma: float, method: str,
                  min_score: float, max_num: int, ext) -> Tuple[Tensor, Tensor]:
    if ext is None:
        return soft_nms_1d_reference(seg, sc, iou_threshold, sigma, method, min_score, max_num)
    m = 1 if method == 'linear' else 2
    _, s, k = ext.soft_nms_1d(seg.cpu(), sc.cpu(), float(iou_threshold), float(sigma), m,
                              float(min_score), int(max_num))
    return k.to(seg.device), s.to(seg.device)


def soft_nms_1d(segments: Tensor, scores: Tensor, iou_threshold: float = 0.5, sigma: float = 0.5,
                method: str = 'linear', min_score: float = 0.0, max_num: int = -1,
                impl: str = 'auto') -> Tuple[Tensor, Tensor, Tensor]:
    """1D soft-NMS. ``linear``: scores times ``1 - iou`` where ``iou >= iou_threshold``;
    ``gaussian``: times ``exp(-iou^2 / sigma)`` for all remaining. Candidates whose (decayed)
    score falls below ``min_score`` are dropped; at most ``max_num`` (-1: all) are kept.

    Returns ``(segments [K, 2], scores [K], keep_idx [K])`` in descending final score.
    """
    _check(segments, scores, 'soft_nms_1d')
    if method not in ('linear', 'gaussian'):
        raise ValueError(f"soft_nms_1d: method must be 'linear' or 'gaussian', got {method!r}")
    ext = resolve(impl, torch.device('cpu'), 'soft_nms_1d')
    seg = _float(segments.detach())
    sc = scores.detach().to(seg.dtype)
    if seg.size(0) == 0:
        return seg.new_zeros(0, 2), sc.new_zeros(0), torch.zeros(0, dtype=torch.long,
                                                                  device=seg.device)
    idx, s = _soft_nms_idx(seg, sc, float(iou_threshold), float(sigma), method, float(min_score),
                           int(max_num), ext)
    return seg[idx], s, idx


def parse_nms_cfg(cfg: Optional[dict]) -> dict:
    """``batched_nms_1d`` config with defaults filled in; unknown keys and keys that do nothing
    for the chosen method are errors."""
    cfg = dict(cfg or {})
    for key in cfg:
        if key not in BATCHED_NMS_DEFAULTS:
            raise ValueError(f'batched_nms_1d: unknown cfg key {key!r}; allowed keys: '
                             f'{sorted(BATCHED_NMS_DEFAULTS)}')
    out = dict(BATCHED_NMS_DEFAULTS)
    out.update(cfg)
    if out['method'] not in NMS_METHODS:
        raise ValueError(f'batched_nms_1d: method must be one of {NMS_METHODS}, got '
                         f'{out["method"]!r}')
    # a key that does nothing for the chosen method is a mistake, not a no-op
    unused = {'hard': 'sigma', 'linear': 'sigma', 'gaussian': 'iou_threshold'}[out['method']]
    if unused in cfg:
        raise ValueError(f"batched_nms_1d: {unused!r} does nothing with method="
                         f"{out['method']!r} (sigma is Gaussian soft-NMS only; iou_threshold is "
                         f"for 'hard' and 'linear'); remove it or change the method")
    return out


def score_voting(kept_seg: Tensor, kept_labels: Tensor, pre_seg: Tensor, pre_scores: Tensor,
                 pre_labels: Tensor, voting_thresh: float, multiclass: bool,
                 chunk: int = 1024) -> Tensor:
    """Refined segment = mean of pre-NMS segments with ``iou >= voting_thresh`` (same class when
    ``multiclass``), weighted by ``score * iou``; unchanged where the weights sum to 0."""
    out = []
    for k0 in range(0, kept_seg.size(0), chunk):
        ks = kept_seg[k0:k0 + chunk]
        iou = segment_iou(ks[:, :1], ks[:, 1:], pre_seg[None, :, 0], pre_seg[None, :, 1])
        w = torch.where(iou >= voting_thresh, iou * pre_scores[None], torch.zeros_like(iou))
        if multiclass:
            w = torch.where(kept_labels[k0:k0 + chunk, None] == pre_labels[None], w,
                            torch.zeros_like(w))
        wsum = w.sum(1, keepdim=True)
        ref = (w @ pre_seg) / torch.where(wsum > 0, wsum, torch.ones_like(wsum))
        out.append(torch.where(wsum > 0, ref, ks))
    return torch.cat(out, 0) if out else kept_seg


def _batched_reference(seg: Tensor, sc: Tensor, lab: Tensor, c: dict, max_num: int):
    """Per-class loop over the single-class references; returns (idx, scores, pre-NMS mask)."""
    pre = sc >= c['min_score']
    cand = torch.nonzero(pre).flatten()
    if cand.numel() == 0:
        return cand, sc.new_zeros(0), pre
    if c['multiclass']:
        lab_sorted, perm = torch.sort(lab[cand], stable=True)
        _, counts = torch.unique_consecutive(lab_sorted, return_counts=True)
        groups = [cand[g] for g in torch.split(perm, counts.tolist())]
    else:
        groups = [cand]
    out_idx, out_sc = [], []
    for g in groups:
        gs, gsc = seg[g], sc[g]
        if c['method'] == 'hard':
            k = nms_1d_reference(gs, gsc, float(c['iou_threshold']))
            if max_num > 0:
                k = k[:max_num]
            ks = gsc[k]
        else:
            k, ks = soft_nms_1d_reference(gs, gsc, float(c['iou_threshold']), float(c['sigma']),
                                          c['method'], float(c['min_score']), max_num)
        out_idx.append(g[k])
        out_sc.append(ks)
    idx = torch.cat(out_idx)
    new_sc = torch.cat(out_sc)
    order = torch.sort(new_sc, descending=True, stable=True).indices
    if max_num > 0:
        order = order[:max_num]
    return idx[order], new_sc[order], pre


def batched_nms_1d(segments: Tensor, scores: Tensor, labels: Tensor, cfg: Optional[dict] = None,
                   impl: str = 'auto') -> Tuple[Tensor, Tensor, Tensor]:
    """Per-class (``multiclass=True``) or class-agnostic NMS / soft-NMS with optional voting.

    ``cfg`` keys (all optional): ``method`` ('hard' | 'linear' | 'gaussian', default 'hard'),
    ``iou_threshold`` (0.5), ``sigma`` (0.5), ``min_score`` (0.0: drop scores below, before and
    after soft decay), ``max_seg_num`` (-1: all), ``multiclass`` (True), ``voting_thresh`` (0.0:
    off). An unknown key raises ValueError. Returns ``(segments [K, 2], scores [K], labels [K])``
    sorted by score, descending, on the input device.
    """
    _check(segments, scores, 'batched_nms_1d')
    if labels.dim() != 1 or labels.size(0) != segments.size(0):
        raise ValueError(f'batched_nms_1d: labels must be [N], got {tuple(labels.shape)}')
    c = parse_nms_cfg(cfg)
    ext = resolve(impl, torch.device('cpu'), 'batched_nms_1d')
    device = segments.device
    seg = _float(segments.detach())
    sc = scores.detach().to(seg.dtype)
    lab = labels.detach()
    work = torch.device('cpu') if ext is not None else device
    seg, sc, lab = seg.to(work), sc.to(work), lab.to(work)

    max_num = int(c['max_seg_num'])
    if ext is not None:
        method = NMS_METHODS.index(c['method'])  # 0 hard, 1 linear, 2 gaussian
        idx, new_sc = ext.batched_nms_1d(seg, sc, lab.long(), method, float(c['iou_threshold']),
                                         float(c['sigma']), float(c['min_score']), max_num,
                                         bool(c['multiclass']))
        pre = sc >= c['min_score']
    else:
        idx, new_sc, pre = _batched_reference(seg, sc, lab, c, max_num)
    if idx.numel() == 0:
        return (segments.new_zeros(0, 2), scores.new_zeros(0), labels.new_zeros(0))
    if not bool(pre.all()):  # pre-NMS set for voting: candidates that passed min_score
        seg_v, sc_v, lab_v = seg[pre], sc[pre], lab[pre]
    else:
        seg_v, sc_v, lab_v = seg, sc, lab
    out_seg, out_lab = seg[idx], lab[idx]
    if c['voting_thresh'] > 0:
        out_seg = score_voting(out_seg, out_lab, seg_v, sc_v, lab_v, float(c['voting_thresh']),
                               bool(c['multiclass']))
    seg_dtype = segments.dtype if segments.is_floating_point() else out_seg.dtype
    sc_dtype = scores.dtype if scores.is_floating_point() else new_sc.dtype
    return (out_seg.to(device=device, dtype=seg_dtype), new_sc.to(device=device, dtype=sc_dtype),
            out_lab.to(device))
