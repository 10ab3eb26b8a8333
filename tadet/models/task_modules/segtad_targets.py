"""SegTAD training targets: per-snippet start / end labels of the segmentation branch and the
tIoU targets of proposals (window snippet coordinates; snippet ``i`` covers ``[i, i + 1)``)."""
from typing import Tuple

import torch

from .tiou import segment_tiou


def action_snippet_range(segments: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """First and last snippet of each action, by the rule of ``snippet_class_targets``.

    Snippet ``i`` belongs to ``[s, e]`` when ``s <= i + 0.5 <= e``, so the first snippet is
    ``ceil(s - 0.5)`` and the last ``floor(e - 0.5)``. An action too short to contain any
    snippet centre gets the snippet holding its midpoint as both.

    Args:
        segments: ``[N, 2]`` (start, end).

    Returns:
        (first ``[N]``, last ``[N]``) long tensors (not clipped to the window).
    """
    segs = segments.float().reshape(-1, 2)
    first = torch.ceil(segs[:, 0] - 0.5).long()
    last = torch.floor(segs[:, 1] - 0.5).long()
    mid = torch.floor(segs.mean(dim=1)).long()
    empty = last < first
    return torch.where(empty, mid, first), torch.where(empty, mid, last)


def segtad_boundary_targets(segments: torch.Tensor,
                            num_snippets: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Binary start / end targets of one window: 1 on the first / last snippet of each action.

    A boundary outside the window (an action cut by the window) labels nothing.

    Args:
        segments: ``[N, 2]`` (start, end) in window snippets.
        num_snippets: ``T``.

    Returns:
        (start ``[T]``, end ``[T]``) float tensors of 0 / 1.
    """
    T = int(num_snippets)
    start = torch.zeros(T, device=segments.device)
    end = torch.zeros(T, device=segments.device)
    if segments.numel() == 0:
        return start, end
    first, last = action_snippet_range(segments)
    ok = (first >= 0) & (first < T)
    start[first[ok]] = 1.0
    ok = (last >= 0) & (last < T)
    end[last[ok]] = 1.0
    return start, end


def proposal_tiou_targets(proposals: torch.Tensor, gt_segments: torch.Tensor) -> torch.Tensor:
    """Highest tIoU of each proposal ``[N, 2]`` with the ground truth ``[M, 2]`` -> ``[N]``
    (0 without ground truth)."""
    if gt_segments.numel() == 0 or proposals.numel() == 0:
        return proposals.new_zeros(proposals.shape[0])
    return segment_tiou(proposals.float(), gt_segments.float().reshape(-1, 2)).max(dim=1).values
