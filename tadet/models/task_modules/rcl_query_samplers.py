"""RCL's training queries: which continuous segments ``(xs, xe)`` the continuous anchoring
representation is trained on (samplers), and their targets (:class:`QueryTIoUAssigner`).

Every sampler is a ``TASK_UTILS`` component called as
``sampler(num_snippets, gt_segments, generator=None) -> queries [Q, 2]`` (window snippet
coordinates, ``0 <= xs < xe <= num_snippets``). RCL trains on the union of the three:

- :class:`GridQuerySampler`: the regular grid, every ``(i, i + d)`` with integer start ``i``
  and duration ``1 <= d <= D`` inside the window (``T(T+1)/2`` cells for ``D = T``);
- :class:`RandomQuerySampler`: as many continuous queries jittered around grid cells;
- :class:`ScaleInvariantQuerySampler`: ``n`` queries around each ground truth, boundaries
  moved by up to ``spread`` times its length (the same relative spread for short and long
  actions).
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch

from tadet.registry import TASK_UTILS

from .assigners import SegmentAssignResult
from .tiou import segment_tiou


def grid_queries(num_snippets: int, max_duration: Optional[int] = None,
                 device: Optional[torch.device] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """All grid cells of a window, in duration-major order.

    Args:
        num_snippets: ``T`` (valid window length).
        max_duration: largest duration ``D`` (``None``: ``T``).

    Returns:
        ``queries [Q, 2]`` float (start, end) and ``index [Q, 2]`` long (duration - 1, start):
        the cell's position in a ``[D, T]`` duration x start map (BMN's layout).
        ``Q = sum_{d=1..D} (T - d + 1)`` (``T(T+1)/2`` for ``D = T``).
    """
    T = int(num_snippets)
    D = T if max_duration is None else min(int(max_duration), T)
    if T < 1 or D < 1:
        return (torch.zeros((0, 2), device=device),
                torch.zeros((0, 2), dtype=torch.long, device=device))
    d = torch.arange(1, D + 1, device=device)[:, None].expand(D, T)
    i = torch.arange(T, device=device)[None].expand(D, T)
    valid = (i + d) <= T
    d, i = d[valid], i[valid]
    queries = torch.stack([i, i + d], dim=1).float()
    return queries, torch.stack([d - 1, i], dim=1)


def clamp_queries(queries: torch.Tensor, num_snippets: Union[float, torch.Tensor],
                  min_length: float) -> torch.Tensor:
    """Order the bounds, clamp to ``[0, T]`` and give every query at least ``min_length``
    (pushed inwards at the window edges).

    Args:
        queries: ``[Q, 2]`` (start, end).
        num_snippets: ``T``, a number or ``[Q]`` (each query's own window length).
        min_length: shortest query (at most ``T``).
    Returns:
        ``[Q, 2]``.
    """
    T = torch.as_tensor(num_snippets, dtype=queries.dtype, device=queries.device)
    T = T.expand(queries.shape[0]) if T.dim() == 0 else T
    min_len = torch.minimum(T, torch.full_like(T, float(min_length)))
    zero = torch.zeros_like(T)
    s = torch.minimum(queries[:, 0], queries[:, 1])
    e = torch.maximum(queries[:, 0], queries[:, 1])
    s = torch.minimum(torch.maximum(s, zero), T)
    e = torch.minimum(torch.maximum(e, zero), T)
    e = torch.minimum(torch.maximum(e, s + min_len), T)
    s = torch.maximum(torch.minimum(s, e - min_len), zero)
    return torch.stack([s, e], dim=1)


def _subsample(queries: torch.Tensor, max_num: Optional[int],
               generator: Optional[torch.Generator]) -> torch.Tensor:
    if max_num is None or queries.shape[0] <= max_num:
        return queries
    idx = torch.randperm(queries.shape[0], generator=generator)[:max_num]
    return queries[idx.to(queries.device)]


def _check(name: str, max_num: Optional[int], max_duration: Optional[int] = None) -> None:
    if max_num is not None and int(max_num) < 1:
        raise ValueError(f'{name}: max_num must be >= 1 or None, got {max_num}')
    if max_duration is not None and int(max_duration) < 1:
        raise ValueError(f'{name}: max_duration must be >= 1 or None, got {max_duration}')


@TASK_UTILS.register_module()
class GridQuerySampler:
    """The regular grid of the window (see :func:`grid_queries`).

    Args:
        max_duration: largest query duration in snippets (``None``: the window length).
        max_num: random subset of at most this many cells per window (``None``: all); keeps
            a CPU training step affordable (``T = 128`` has 8256 cells).
    """

    def __init__(self, max_duration: Optional[int] = None,
                 max_num: Optional[int] = None) -> None:
        _check(type(self).__name__, max_num, max_duration)
        self.max_duration = None if max_duration is None else int(max_duration)
        self.max_num = None if max_num is None else int(max_num)

    def __call__(self, num_snippets: int, gt_segments: Optional[torch.Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """-> ``[Q, 2]`` grid queries of a window of ``num_snippets`` valid snippets."""
        device = None if gt_segments is None else gt_segments.device
        queries, _ = grid_queries(num_snippets, self.max_duration, device)
        return _subsample(queries, self.max_num, generator)


@TASK_UTILS.register_module()
class RandomQuerySampler:
    """Continuous queries around the grid: each grid cell's start and end moved by
    ``U(-jitter, jitter)`` snippets (one query per cell, so as many as the grid), then
    clamped to the window.

    Args:
        jitter: largest boundary shift in snippets (0.5: anywhere between grid points).
        max_duration / max_num: as :class:`GridQuerySampler` (the subset is drawn before
            jittering).
        min_length: shortest query after clamping.
    """

    def __init__(self, jitter: float = 0.5, max_duration: Optional[int] = None,
                 max_num: Optional[int] = None, min_length: float = 0.5) -> None:
        _check(type(self).__name__, max_num, max_duration)
        if jitter < 0 or min_length <= 0:
            raise ValueError('RandomQuerySampler: jitter >= 0 and min_length > 0 required')
        self.jitter = float(jitter)
        self.max_duration = None if max_duration is None else int(max_duration)
        self.max_num = None if max_num is None else int(max_num)
        self.min_length = float(min_length)

    def __call__(self, num_snippets: int, gt_segments: Optional[torch.Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """-> ``[Q, 2]`` jittered queries inside ``[0, num_snippets]``."""
        device = None if gt_segments is None else gt_segments.device
        queries, _ = grid_queries(num_snippets, self.max_duration, device)
        queries = _subsample(queries, self.max_num, generator)
        noise = torch.rand(queries.shape, generator=generator).to(queries.device)
        queries = queries + (2 * noise - 1) * self.jitter
        return clamp_queries(queries, num_snippets, self.min_length)


@TASK_UTILS.register_module()
class ScaleInvariantQuerySampler:
    """``num_per_gt`` queries around each ground truth ``[gs, ge]`` (length ``L``):
    ``xs = gs + U(-spread, spread) L``, ``xe = ge + U(-spread, spread) L``, clamped to the
    window. The spread is relative, so short and long actions get queries of the same
    relative quality (tIoU distribution).

    Args:
        num_per_gt: queries per ground truth.
        spread: largest boundary shift as a fraction of the ground truth's length.
        min_length: shortest query after clamping.
        max_num: random subset of at most this many per window (``None``: all).
    """

    def __init__(self, num_per_gt: int = 16, spread: float = 0.5, min_length: float = 0.5,
                 max_num: Optional[int] = None) -> None:
        _check(type(self).__name__, max_num)
        if num_per_gt < 1 or spread < 0 or min_length <= 0:
            raise ValueError('ScaleInvariantQuerySampler: num_per_gt >= 1, spread >= 0 and '
                             'min_length > 0 required')
        self.num_per_gt = int(num_per_gt)
        self.spread = float(spread)
        self.min_length = float(min_length)
        self.max_num = None if max_num is None else int(max_num)

    def __call__(self, num_snippets: int, gt_segments: Optional[torch.Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``gt_segments [N, 2]`` -> ``[N * num_per_gt, 2]`` (``[0, 2]`` without ground
        truth)."""
        if gt_segments is None or gt_segments.numel() == 0:
            device = None if gt_segments is None else gt_segments.device
            return torch.zeros((0, 2), device=device)
        gts = gt_segments.float().reshape(-1, 2)
        length = (gts[:, 1] - gts[:, 0]).clamp(min=0)
        noise = torch.rand((gts.shape[0], self.num_per_gt, 2), generator=generator)
        shift = (2 * noise.to(gts.device) - 1) * self.spread * length[:, None, None]
        queries = (gts[:, None, :] + shift).reshape(-1, 2)
        queries = clamp_queries(queries, num_snippets, self.min_length)
        return _subsample(queries, self.max_num, generator)


def sample_window_queries(samplers: Sequence[Callable], masks: torch.Tensor,
                          gt_segments: List[torch.Tensor]
                          ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[torch.Tensor]]:
    """Training queries of every window: the samplers' outputs concatenated.

    Args:
        samplers: query samplers (``sampler(T, gt) -> [Q, 2]``).
        masks: ``[B, T]`` real snippets; gt_segments: per window ``[N_b, 2]``.
    Returns:
        queries ``[Q, 2]``, batch_idx ``[Q]``, lengths ``[Q]`` (each query's valid window
        length), and the ground truth of each window clipped to its valid length.
    """
    queries, idx, lens, gts = [], [], [], []
    for b in range(masks.shape[0]):
        T = int(masks[b].sum())
        g = gt_segments[b].to(masks.device).float().reshape(-1, 2).clamp(0, T)
        g = g[g[:, 1] > g[:, 0]]
        gts.append(g)
        q = torch.cat([s(T, g) for s in samplers]).to(masks.device)
        queries.append(q)
        idx.append(torch.full((q.shape[0],), b, dtype=torch.long, device=masks.device))
        lens.append(torch.full((q.shape[0],), float(T), device=masks.device))
    return torch.cat(queries), torch.cat(idx), torch.cat(lens), gts


@TASK_UTILS.register_module()
class QueryTIoUAssigner:
    """RCL's assignment of a window's queries: each query takes the ground truth it overlaps
    most; its max tIoU is its confidence target, and it is positive (an offset target towards
    that ground truth) when the max tIoU is at least ``pos_iou_thr`` (inclusive, unlike
    ``MaxTIoUAssigner``'s strict ``>``); every other query is negative, none is ignored.

    Args:
        pos_iou_thr: offset-target threshold (RCL: 0.5).
    """

    def __init__(self, pos_iou_thr: float = 0.5) -> None:
        self.pos_iou_thr = float(pos_iou_thr)

    def assign(self, queries: torch.Tensor, gt_segments: torch.Tensor,
               gt_labels: Optional[torch.Tensor] = None) -> SegmentAssignResult:
        """``queries [Q, 2]``, ``gt_segments [K, 2]`` (``K`` may be 0: all negative, tIoU 0),
        optional ``gt_labels [K]`` -> ``SegmentAssignResult`` (``max_tious [Q]`` float32,
        ``gt_inds [Q]``: ``k + 1`` positive for gt ``k``, 0 negative)."""
        queries = queries.float()  # float32 targets under bf16 / fp16 autocast too
        n = queries.shape[0]
        gt_inds = torch.zeros(n, dtype=torch.long, device=queries.device)
        labels = torch.full((n,), -1, dtype=torch.long, device=queries.device)
        if gt_segments.numel() == 0 or n == 0:
            return SegmentAssignResult(gt_inds, queries.new_zeros(n), labels)
        tious = segment_tiou(queries, gt_segments.float().reshape(-1, 2))  # [Q, K]
        max_tious, argmax = tious.max(dim=1)
        pos = max_tious >= self.pos_iou_thr
        gt_inds[pos] = argmax[pos] + 1
        if gt_labels is not None:
            labels[pos] = gt_labels.to(queries.device).long()[argmax[pos]]
        return SegmentAssignResult(gt_inds, max_tious, labels)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(pos_iou_thr={self.pos_iou_thr})'
