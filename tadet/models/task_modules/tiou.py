"""Temporal IoU and segment-format helpers shared by the detectors' target assignment.

Segments are ``[..., 2]`` tensors of ``(start, end)`` in any consistent unit (usually window
snippets); ``(centre, width)`` is the other format used by anchor coders.
"""
import torch

_EPS = 1e-6


def segment_se_to_cw(segments: torch.Tensor) -> torch.Tensor:
    """``[..., 2]`` (start, end) -> ``[..., 2]`` (centre, width)."""
    start, end = segments[..., 0], segments[..., 1]
    return torch.stack([(start + end) * 0.5, end - start], dim=-1)


def segment_cw_to_se(segments: torch.Tensor) -> torch.Tensor:
    """``[..., 2]`` (centre, width) -> ``[..., 2]`` (start, end)."""
    centre, width = segments[..., 0], segments[..., 1]
    return torch.stack([centre - width * 0.5, centre + width * 0.5], dim=-1)


def segment_tiou(segments1: torch.Tensor, segments2: torch.Tensor,
                 aligned: bool = False) -> torch.Tensor:
    """Temporal IoU.

    Args:
        segments1: ``[N, 2]`` (start, end).
        segments2: ``[M, 2]`` (start, end); ``[N, 2]`` if ``aligned``.
        aligned: pairwise IoU of rows ``i`` of both inputs (``[N]``) instead of all pairs.

    Returns:
        ``[N, M]`` (or ``[N]`` if aligned) tIoU in [0, 1]. A segment's length is ``end - start``
        (clamped at 0); the epsilon only avoids 0/0 for two empty segments.
    """
    if aligned:
        s1, e1 = segments1[:, 0], segments1[:, 1]
        s2, e2 = segments2[:, 0], segments2[:, 1]
    else:
        s1, e1 = segments1[:, None, 0], segments1[:, None, 1]
        s2, e2 = segments2[None, :, 0], segments2[None, :, 1]
    inter = (torch.minimum(e1, e2) - torch.maximum(s1, s2)).clamp(min=0)
    union = (e1 - s1).clamp(min=0) + (e2 - s2).clamp(min=0) - inter
    return inter / union.clamp(min=_EPS)
