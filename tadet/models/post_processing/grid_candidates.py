"""Candidates of (start, duration) grid detectors (BMN, G-TAD, RCL): BMN's boundary rule and the
product score, shared so every grid-based detector decodes its maps the same way."""
from typing import Dict

import torch
import torch.nn.functional as F

from tadet.models.task_modules.grid_targets import grid_segments


def boundary_peak_mask(prob: torch.Tensor, num_valid: int, peak_ratio: float = 0.5,
                       edge: str = 'first') -> torch.Tensor:
    """BMN's boundary candidates of one window.

    A position ``t < num_valid`` is a candidate if it is a strict local maximum of ``prob``
    (among the valid positions) or above ``peak_ratio * max(prob)``; the window edge named by
    ``edge`` (``'first'`` for starts, ``'last'`` for ends; actions may be cut there) is always a
    candidate, as in BMN.

    Args:
        prob: ``[T]`` start or end probabilities.
        num_valid: real snippets of the window (the rest is padding).
    Returns:
        bool ``[T]``.
    """
    T = prob.shape[0]
    n = max(min(int(num_valid), T), 0)
    out = torch.zeros(T, dtype=torch.bool, device=prob.device)
    if n == 0:
        return out
    p = prob[:n]
    left = torch.cat([p.new_full((1,), float('inf')), p[:-1]])
    right = torch.cat([p[1:], p.new_full((1,), float('inf'))])
    out[:n] = ((p > left) & (p > right)) | (p > peak_ratio * p.max())
    out[0 if edge == 'first' else n - 1] = True
    return out


def grid_candidates(start: torch.Tensor, end: torch.Tensor, cls_map: torch.Tensor,
                    reg_map: torch.Tensor, num_valid: int,
                    peak_ratio: float = 0.5) -> Dict[str, torch.Tensor]:
    """Scored proposals of one window from the TEM and the confidence maps.

    Cell ``(d, s)`` = segment ``[s, s + d + 1]`` (see ``grid_targets``) is a candidate when its
    start snippet ``s`` and end snippet ``s + d`` pass :func:`boundary_peak_mask` and it ends
    inside the real snippets; its score is ``start[s] * end[s + d] * cls[d, s] * reg[d, s]``.

    Args:
        start / end: ``[T]`` TEM probabilities.
        cls_map / reg_map: ``[D, T]`` confidences.
        num_valid: real snippets of the window.
    Returns:
        dict(segments ``[K, 2]`` window snippets, scores ``[K]``).
    """
    D, T = cls_map.shape
    segs, valid = grid_segments(T, D, cls_map.device)
    s_idx = torch.arange(T, device=cls_map.device)[None].expand(D, T)
    e_idx = (s_idx + torch.arange(D, device=cls_map.device)[:, None]).clamp(max=T - 1)
    starts = boundary_peak_mask(start, num_valid, peak_ratio, 'first')
    ends = boundary_peak_mask(end, num_valid, peak_ratio, 'last')
    keep = valid & (segs[..., 1] <= num_valid) & starts[s_idx] & ends[e_idx]
    scores = start[s_idx] * end[e_idx] * cls_map * reg_map
    return dict(segments=segs[keep].to(cls_map.dtype), scores=scores[keep])


def boundary_scores(start: torch.Tensor, end: torch.Tensor,
                    segments: torch.Tensor) -> torch.Tensor:
    """TEM probabilities at continuous boundaries, linearly interpolated (RCL's optional
    BMN-style score).

    ``start [T]`` is about a boundary at ``t``, ``end [T]`` about one at ``t + 1`` (the TEM
    convention of ``boundary_targets``), so a segment ``(xs, xe)`` reads ``start`` at ``xs`` and
    ``end`` at ``xe - 1``. ``segments [N, 2]`` -> ``start(xs) * end(xe) [N]``.
    """
    def interp(seq, pos):
        T = seq.shape[0]
        pos = pos.clamp(0, T - 1)
        lo = pos.floor().long().clamp(max=T - 1)
        hi = (lo + 1).clamp(max=T - 1)
        frac = pos - lo.to(pos.dtype)
        return seq[lo] * (1 - frac) + seq[hi] * frac

    segments = segments.to(start.dtype)
    return interp(start, segments[:, 0]) * interp(end, segments[:, 1] - 1.0)


def grid_local_maxima(scores: torch.Tensor, cell: torch.Tensor, batch_idx: torch.Tensor,
                      num_windows: int, T: int, kernel: int = 3) -> torch.Tensor:
    """Indices of the candidates whose score is the maximum of their ``kernel x kernel``
    neighbourhood in the per-window (duration, start) map (cells without a candidate do not
    compete; RCL's local-maximum selection).

    Args:
        scores: ``[Q]``; cell: ``[Q, 2]`` long (duration - 1, start); batch_idx: ``[Q]``.
        num_windows / T: map size ``[num_windows, D, T]``.
    Returns:
        ``[K]`` long indices into ``scores`` (all with ``kernel == 1``).
    """
    if kernel == 1 or scores.numel() == 0:
        return torch.arange(scores.numel(), device=scores.device)
    D = int(cell[:, 0].max()) + 1
    smap = scores.new_full((num_windows, D, T), -1.0)
    smap[batch_idx, cell[:, 0], cell[:, 1]] = scores
    pooled = F.max_pool2d(smap[:, None], kernel, stride=1, padding=kernel // 2)[:, 0]
    is_max = scores >= pooled[batch_idx, cell[:, 0], cell[:, 1]]
    return torch.nonzero(is_max).squeeze(1)
