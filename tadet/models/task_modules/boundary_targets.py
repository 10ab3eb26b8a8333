"""BMN-style start / end probability targets (temporal evaluation module).

Convention (window snippet coordinates, snippet ``t`` covers ``[t, t + 1)``): the *start*
probability of snippet ``t`` is about a boundary at ``t`` (the action's first snippet is ``t``),
the *end* probability about a boundary at ``t + 1`` (its last snippet is ``t``). The target of
each position is the largest overlap ratio (intersection over the unit anchor) between the unit
anchor centred on the position's boundary and the boundary region ``[g - w/2, g + w/2]`` of any
ground-truth boundary ``g``, as BMN does with ``w = 3`` snippets.
"""
from typing import Tuple

import torch


def _anchor_overlap(centres: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """Max over regions of ``|[c - 0.5, c + 0.5] & region|`` (the anchor length is 1).

    ``centres [T]``, ``regions [N, 2]`` -> ``[T]``."""
    lo = torch.maximum(centres[:, None] - 0.5, regions[None, :, 0])
    hi = torch.minimum(centres[:, None] + 0.5, regions[None, :, 1])
    return (hi - lo).clamp(min=0).max(dim=1).values.clamp(max=1.0)


def boundary_targets(gt_segments: torch.Tensor, num_snippets: int, region_width: float = 3.0,
                     region_ratio: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Start and end targets of one window.

    Args:
        gt_segments: ``[N, 2]`` (start, end) in window snippets.
        num_snippets: ``T``.
        region_width: boundary region width in snippets (BMN: 3).
        region_ratio: optional BSN-style region proportional to the action length; the width
            is ``max(region_width, region_ratio * length)``.

    Returns:
        (start ``[T]``, end ``[T]``), values in ``[0, 1]``.
    """
    T = int(num_snippets)
    dtype = gt_segments.dtype if gt_segments.is_floating_point() else torch.float32
    pos = torch.arange(T, device=gt_segments.device, dtype=dtype)
    if gt_segments.numel() == 0:
        zeros = pos.new_zeros(T)
        return zeros, zeros.clone()
    segs = gt_segments.to(dtype).reshape(-1, 2)
    half = 0.5 * torch.clamp((segs[:, 1] - segs[:, 0]) * region_ratio, min=region_width)
    starts = torch.stack([segs[:, 0] - half, segs[:, 0] + half], dim=1)
    ends = torch.stack([segs[:, 1] - half, segs[:, 1] + half], dim=1)
    # start of snippet t sits at t, its end at t + 1
    return _anchor_overlap(pos, starts), _anchor_overlap(pos + 1.0, ends)
