"""AFSD label assignment: coarse anchor-free points, refined proposals, boundary bands.

All coordinates are window snippets (a window of ``L`` snippets spans ``[0, L]``).
"""
from typing import Tuple

import torch

from tadet.registry import TASK_UTILS

from .tiou import segment_tiou


def encode_refine_offsets(coarse: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """AFSD refinement target ``(gt - coarse) / (0.5 * coarse_w)`` for both bounds
    (``[N, 2]`` each); the width is clamped to a small positive value."""
    half_w = 0.5 * (coarse[:, 1] - coarse[:, 0]).clamp(min=1e-3)
    return (gt - coarse) / half_w[:, None]


def decode_refine_offsets(coarse: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`encode_refine_offsets`: ``coarse + 0.5 * w * offsets``."""
    half_w = 0.5 * (coarse[..., 1] - coarse[..., 0]).clamp(min=1e-3)
    return coarse + half_w[..., None] * offsets


@TASK_UTILS.register_module()
class AFSDAssigner:
    """Targets of AFSD's coarse and refined stages.

    Coarse: a point (centre ``c``) is positive for the shortest ground truth with
    ``start <= c <= end``; its class target is that gt's label + 1 (0 = background).

    Refined: a coarse positive stays positive when ``tIoU(coarse segment, its gt) >= pos_iou_thr``.
    With ``keep_best_per_gt=True`` the threshold of each gt is ``min(pos_iou_thr, best tIoU of
    its coarse positives)``, so every gt that has a coarse positive keeps at least one refined
    positive (useful early in training and for feature-mode configs).

    Boundary bands (activation-guided BCL): positions whose centre lies within
    ``max(band_ratio * w, min_band) / 2`` of a gt start (end), ``w`` the gt length.

    Args:
        pos_iou_thr: refined positive threshold (0.5).
        keep_best_per_gt: see above.
        band_ratio / min_band: boundary band width ``max(band_ratio * w, min_band)`` in the unit
            of the positions it is computed on (AFSD: 0.1 and 2 frames).
    """

    def __init__(self, pos_iou_thr: float = 0.5, keep_best_per_gt: bool = False,
                 band_ratio: float = 0.1, min_band: float = 2.0) -> None:
        if not 0.0 <= pos_iou_thr <= 1.0:
            raise ValueError('AFSDAssigner: pos_iou_thr must be in [0, 1]')
        self.pos_iou_thr = float(pos_iou_thr)
        self.keep_best_per_gt = bool(keep_best_per_gt)
        self.band_ratio = float(band_ratio)
        self.min_band = float(min_band)

    def assign_points(self, centres: torch.Tensor, gt_segments: torch.Tensor,
                      gt_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Coarse targets.

        Args:
            centres: ``[N]`` point centres.
            gt_segments: ``[K, 2]``; gt_labels: ``[K]`` class indices (0-based).
        Returns:
            ``(labels [N]`` long, 0 = background, ``k + 1`` = class ``k``;
            ``gt_inds [N]`` long index of the assigned gt, -1 for background).
        """
        n = centres.shape[0]
        if gt_segments.numel() == 0:
            return (centres.new_zeros(n, dtype=torch.long),
                    centres.new_full((n,), -1, dtype=torch.long))
        c = centres[:, None]
        inside = (c >= gt_segments[None, :, 0]) & (c <= gt_segments[None, :, 1])  # [N, K]
        length = (gt_segments[:, 1] - gt_segments[:, 0])[None].expand(n, -1)
        length = torch.where(inside, length, torch.full_like(length, float('inf')))
        best_len, gt_inds = length.min(dim=1)
        pos = torch.isfinite(best_len)
        gt_inds = torch.where(pos, gt_inds, torch.full_like(gt_inds, -1))
        labels = torch.where(pos, gt_labels.long()[gt_inds.clamp(min=0)] + 1,
                             torch.zeros_like(gt_inds))
        return labels, gt_inds

    def assign_refined(self, coarse: torch.Tensor, gt_inds: torch.Tensor,
                       gt_segments: torch.Tensor,
                       gt_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Refined targets.

        Args:
            coarse: ``[N, 2]`` coarse segments (detached).
            gt_inds: ``[N]`` coarse assignment (-1 background).
        Returns:
            ``(labels [N]`` long, 0 = background; ``tious [N]`` tIoU of each coarse positive with
            its gt, 0 elsewhere).
        """
        # targets in float32 whatever the autocast dtype of the network outputs
        coarse, gt_segments = coarse.float(), gt_segments.float()
        n = coarse.shape[0]
        labels = coarse.new_zeros(n, dtype=torch.long)
        tious = coarse.new_zeros(n)
        pos = gt_inds >= 0
        if not bool(pos.any()):
            return labels, tious
        idx = gt_inds[pos]
        t = segment_tiou(coarse[pos], gt_segments[idx], aligned=True)
        tious[pos] = t
        thr = coarse.new_full((gt_segments.shape[0],), self.pos_iou_thr)
        if self.keep_best_per_gt:
            best = coarse.new_zeros(gt_segments.shape[0]).scatter_reduce(
                0, idx, t, reduce='amax', include_self=True)
            # a gt without any overlap keeps no refined positive
            thr = torch.where(best > 0, torch.minimum(thr, best), thr)
        keep = t >= thr[idx] - 1e-6
        pos_idx = pos.nonzero().squeeze(1)[keep]
        labels[pos_idx] = gt_labels.long()[gt_inds[pos_idx]] + 1
        return labels, tious

    def boundary_bands(self, gt_segments: torch.Tensor, length: int,
                       scale: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
        """0/1 start and end bands ``[length]`` on a grid of ``length`` positions, each of
        ``scale`` window snippets (position ``i`` centred at ``(i + 0.5) * scale``)."""
        pos = (torch.arange(length, device=gt_segments.device, dtype=torch.float32) + 0.5) * scale
        start = pos.new_zeros(length)
        end = pos.new_zeros(length)
        if gt_segments.numel() == 0:
            return start, end
        seg = gt_segments.float()
        w = seg[:, 1] - seg[:, 0]
        half = torch.clamp(self.band_ratio * w, min=self.min_band * scale) * 0.5  # [K]
        d_start = (pos[:, None] - seg[None, :, 0]).abs() <= half[None]
        d_end = (pos[:, None] - seg[None, :, 1]).abs() <= half[None]
        start[d_start.any(1)] = 1.0
        end[d_end.any(1)] = 1.0
        return start, end
