"""AFSD targets: the point / refined-proposal assigner, the refinement offset coder and the
boundary bands of activation-guided BCL.

All coordinates are window snippets (a window of ``L`` snippets spans ``[0, L]``).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from tadet.registry import TASK_UTILS

from .tiou import segment_tiou


@TASK_UTILS.register_module()
class AFSDRefineOffsetCoder:
    """AFSD's refinement offsets: each bound moves by ``offset * 0.5 * w``, ``w`` the coarse
    segment's width: ``encode = (gt - coarse) / (0.5 * w)``, ``decode = coarse + 0.5 * w *
    offsets``, both bounds at once.

    Args:
        min_width: floor of ``w`` (a degenerate coarse segment must not divide by 0).
    """

    def __init__(self, min_width: float = 1e-3) -> None:
        if min_width <= 0:
            raise ValueError('AFSDRefineOffsetCoder: min_width must be > 0')
        self.min_width = float(min_width)

    def _half_width(self, coarse: torch.Tensor) -> torch.Tensor:
        return 0.5 * (coarse[..., 1] - coarse[..., 0]).clamp(min=self.min_width)

    def encode(self, coarse: torch.Tensor, gt_segments: torch.Tensor) -> torch.Tensor:
        """``coarse [..., 2]``, ``gt_segments [..., 2]`` -> offsets ``[..., 2]``."""
        return (gt_segments - coarse) / self._half_width(coarse)[..., None]

    def decode(self, coarse: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """``coarse [..., 2]``, ``offsets [..., 2]`` -> refined segments ``[..., 2]``."""
        return coarse + self._half_width(coarse)[..., None] * offsets

    def __repr__(self) -> str:
        return f'{type(self).__name__}(min_width={self.min_width})'


@dataclass
class AFSDAssignResult:
    """Targets of ``N`` priors of one window.

    Attributes:
        gt_inds: ``[N]`` long index of the gt assigned to each coarse positive, -1 elsewhere
            (background and ignored priors).
        labels: ``[N]`` long class (0-based) of the coarse positives, -1 elsewhere.
        refined_labels: ``[N]`` long class of the refined positives, -1 elsewhere (``None``
            when no coarse segments were given).
        tious: ``[N]`` tIoU of each coarse positive's segment with its gt, 0 elsewhere
            (``None`` likewise).
    """
    gt_inds: torch.Tensor
    labels: torch.Tensor
    refined_labels: Optional[torch.Tensor] = None
    tious: Optional[torch.Tensor] = None

    @property
    def pos_mask(self) -> torch.Tensor:
        return self.gt_inds >= 0


@TASK_UTILS.register_module()
class AFSDAssigner:
    """Targets of AFSD's coarse and refined stages.

    Coarse: a point (centre ``c``) is positive for the shortest ground truth with
    ``start <= c <= end``.

    Refined: a coarse positive stays positive when ``tIoU(coarse segment, its gt) >= pos_iou_thr``.
    With ``keep_best_per_gt=True`` the threshold of each gt is ``min(pos_iou_thr, best tIoU of
    its coarse positives)``, so every gt that has a coarse positive keeps at least one refined
    positive (useful early in training and for feature-mode configs).

    Args:
        pos_iou_thr: refined positive threshold (0.5).
        keep_best_per_gt: see above.
    """

    def __init__(self, pos_iou_thr: float = 0.5, keep_best_per_gt: bool = False) -> None:
        if not 0.0 <= pos_iou_thr <= 1.0:
            raise ValueError('AFSDAssigner: pos_iou_thr must be in [0, 1]')
        self.pos_iou_thr = float(pos_iou_thr)
        self.keep_best_per_gt = bool(keep_best_per_gt)

    def assign(self, centres: torch.Tensor, gt_segments: torch.Tensor, gt_labels: torch.Tensor,
               valid: Optional[torch.Tensor] = None,
               coarse_segments: Optional[torch.Tensor] = None) -> AFSDAssignResult:
        """Assign the ground truth of one window.

        Args:
            centres: ``[N]`` prior centres.
            gt_segments: ``[K, 2]``; gt_labels: ``[K]`` class indices (0-based).
            valid: ``[N]`` bool, False for priors to ignore (padding): never positive.
            coarse_segments: ``[N, 2]`` (detached) coarse segments; given, the refined
                positives are assigned too.
        """
        n = centres.shape[0]
        gt_inds = centres.new_full((n,), -1, dtype=torch.long)
        if gt_segments.numel():
            c = centres[:, None]
            inside = (c >= gt_segments[None, :, 0]) & (c <= gt_segments[None, :, 1])  # [N, K]
            length = (gt_segments[:, 1] - gt_segments[:, 0])[None].expand(n, -1)
            length = torch.where(inside, length, torch.full_like(length, float('inf')))
            best_len, best = length.min(dim=1)
            gt_inds = torch.where(torch.isfinite(best_len), best, gt_inds)
        if valid is not None:
            gt_inds = torch.where(valid, gt_inds, torch.full_like(gt_inds, -1))
        labels = self._labels(gt_inds, gt_labels)
        result = AFSDAssignResult(gt_inds, labels)
        if coarse_segments is not None:
            result.refined_labels, result.tious = self._assign_refined(
                coarse_segments, gt_inds, gt_segments, gt_labels)
        return result

    @staticmethod
    def _labels(gt_inds: torch.Tensor, gt_labels: torch.Tensor) -> torch.Tensor:
        if gt_labels.numel() == 0:
            return torch.full_like(gt_inds, -1)
        lab = gt_labels.long()[gt_inds.clamp(min=0)]
        return torch.where(gt_inds >= 0, lab, torch.full_like(lab, -1))

    def _assign_refined(self, coarse: torch.Tensor, gt_inds: torch.Tensor,
                        gt_segments: torch.Tensor,
                        gt_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(refined labels ``[N]``, -1 = background; tIoU ``[N]`` of the coarse positives)."""
        # targets in float32 whatever the autocast dtype of the network outputs
        coarse, gt_segments = coarse.float(), gt_segments.float()
        n = coarse.shape[0]
        labels = torch.full_like(gt_inds, -1)
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
        labels[pos_idx] = gt_labels.long()[gt_inds[pos_idx]]
        return labels, tious

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(pos_iou_thr={self.pos_iou_thr}, '
                f'keep_best_per_gt={self.keep_best_per_gt})')


def afsd_boundary_bands(gt_segments: torch.Tensor, length: int, scale: float = 1.0,
                        band_ratio: float = 0.1,
                        min_band: float = 2.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Activation-guided BCL targets: 0/1 start and end bands ``[length]`` on a grid of
    ``length`` positions, each of ``scale`` window snippets (position ``i`` centred at
    ``(i + 0.5) * scale``). A position is in a band when its centre lies within
    ``max(band_ratio * w, min_band * scale) / 2`` of a gt start (end), ``w`` the gt length
    (AFSD: 0.1 and 2 frames)."""
    pos = (torch.arange(length, device=gt_segments.device, dtype=torch.float32) + 0.5) * scale
    start = pos.new_zeros(length)
    end = pos.new_zeros(length)
    if gt_segments.numel() == 0:
        return start, end
    seg = gt_segments.float()
    w = seg[:, 1] - seg[:, 0]
    half = torch.clamp(band_ratio * w, min=min_band * scale) * 0.5  # [K]
    d_start = (pos[:, None] - seg[None, :, 0]).abs() <= half[None]
    d_end = (pos[:, None] - seg[None, :, 1]).abs() <= half[None]
    start[d_start.any(1)] = 1.0
    end[d_end.any(1)] = 1.0
    return start, end
