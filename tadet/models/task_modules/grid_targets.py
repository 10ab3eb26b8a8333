"""The (duration, start) proposal grid of BMN / G-TAD: cell geometry, tIoU targets, validity,
and BMN's stratified sampling of the tIoU regression loss.

Cell ``(d, s)`` of a ``[D, T]`` map is the segment ``[s, s + d + 1]`` in window snippets (it
covers snippets ``s .. s + d``: its start is the start boundary of snippet ``s``, its end the
end boundary of snippet ``s + d``, matching the TEM convention of
:mod:`tadet.models.task_modules.boundary_targets`). A cell is valid when it ends inside the
window's real snippets.
"""
from typing import Optional, Tuple

import torch

from .tiou import segment_tiou


def grid_segments(num_snippets: int, max_duration: int,
                  device: Optional[torch.device] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Segments of every grid cell and their validity.

    Returns:
        (segments ``[D, T, 2]`` (start, end) in snippets, valid ``[D, T]`` bool with
        ``s + d + 1 <= T``).
    """
    T, D = int(num_snippets), int(max_duration)
    start = torch.arange(T, device=device, dtype=torch.float32)[None].expand(D, T)
    length = torch.arange(1, D + 1, device=device, dtype=torch.float32)[:, None].expand(D, T)
    segs = torch.stack([start, start + length], dim=-1)
    return segs, segs[..., 1] <= T


def grid_valid_mask(masks: torch.Tensor, max_duration: int) -> torch.Tensor:
    """``masks [B, T]`` (real snippets first, then padding) -> ``[B, D, T]``: the cell ends
    at or before the window's number of real snippets."""
    T = masks.shape[1]
    segs, _ = grid_segments(T, max_duration, masks.device)
    valid_len = masks.sum(dim=1).to(segs.dtype)
    return segs[None, ..., 1] <= valid_len[:, None, None]


def grid_tiou_targets(gt_segments: torch.Tensor, num_snippets: int,
                      max_duration: int) -> torch.Tensor:
    """Max tIoU of every cell with the ground truth.

    Args:
        gt_segments: ``[N, 2]`` (start, end) in window snippets.
    Returns:
        ``[D, T]`` (0 without ground truth; invalid cells are not zeroed, mask them).
    """
    segs, _ = grid_segments(num_snippets, max_duration, gt_segments.device)
    D, T = segs.shape[:2]
    if gt_segments.numel() == 0:
        return segs.new_zeros((D, T))
    tiou = segment_tiou(segs.reshape(-1, 2), gt_segments.to(segs.dtype).reshape(-1, 2))
    return tiou.max(dim=1).values.reshape(D, T)


def tiou_stratified_weights(tiou: torch.Tensor, valid: torch.Tensor, high_thr: float = 0.7,
                            low_thr: float = 0.3,
                            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """BMN's sampling of the tIoU regression loss: all high cells (``> high_thr``), then medium
    (``(low_thr, high_thr]``) and low (``<= low_thr``) cells each kept at random with
    probability ``num_high / num_medium`` and ``num_high / num_low``, so each band has about
    as many samples as the high band. Counts are pooled over the whole input (the batch).

    Args:
        tiou: target tIoU, any shape.
        valid: bool of the same shape; invalid cells get weight 0.
    Returns:
        0/1 weights of ``tiou``'s shape and dtype.
    """
    high = (tiou > high_thr) & valid
    medium = (tiou > low_thr) & (tiou <= high_thr) & valid
    low = (tiou <= low_thr) & valid
    num_high = high.sum().to(tiou.dtype)
    rand = torch.rand(tiou.shape, generator=generator, device=tiou.device, dtype=tiou.dtype)
    keep_medium = medium & (rand < num_high / medium.sum().clamp(min=1))
    keep_low = low & (rand < num_high / low.sum().clamp(min=1))
    return (high | keep_medium | keep_low).to(tiou.dtype)
