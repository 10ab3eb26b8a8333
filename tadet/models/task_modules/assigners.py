"""Assign ground-truth segments to priors: anchors by temporal IoU (:class:`MaxTIoUAssigner`),
points by containment and length range (:class:`RegressRangeAssigner`).

Every assigner is a ``TASK_UTILS`` class whose ``assign(priors, gt_segments, gt_labels, ...,
valid=None)`` returns a :class:`SegmentAssignResult`."""
from dataclasses import dataclass
from typing import Optional

import torch

from tadet.registry import TASK_UTILS

from .tiou import segment_tiou


@dataclass
class SegmentAssignResult:
    """Result of assigning ``K`` ground truths to ``N`` priors.

    Attributes:
        gt_inds: ``[N]`` long: ``-1`` ignored, ``0`` negative, ``k + 1`` positive for gt ``k``.
        max_tious: ``[N]`` best tIoU of each prior with any ground truth (0 without gt);
            ``None`` for assigners that do not measure overlap.
        labels: ``[N]`` long class index of the assigned gt, ``-1`` for non-positives.
    """
    gt_inds: torch.Tensor
    max_tious: Optional[torch.Tensor]
    labels: torch.Tensor

    @property
    def pos_mask(self) -> torch.Tensor:
        return self.gt_inds > 0

    @property
    def neg_mask(self) -> torch.Tensor:
        return self.gt_inds == 0

    @property
    def num_gts(self) -> int:
        return int(self.gt_inds.max().clamp(min=0)) if self.gt_inds.numel() else 0


@TASK_UTILS.register_module()
class MaxTIoUAssigner:
    """Each prior takes the ground truth it overlaps most.

    Positive when ``max tIoU > pos_iou_thr``, negative when ``max tIoU < neg_iou_thr``, ignored
    in between (A2Net: both 0.5, so only an exact 0.5 is ignored).

    Args:
        pos_iou_thr / neg_iou_thr: thresholds above.
        match_low_quality: also make each ground truth's best prior(s) positive when that best
            tIoU is at least ``min_pos_iou``, so that no ground truth is left without a
            positive (not in the A2Net paper; off by default).
        min_pos_iou: see ``match_low_quality``.
    """

    def __init__(self, pos_iou_thr: float = 0.5, neg_iou_thr: float = 0.5,
                 match_low_quality: bool = False, min_pos_iou: float = 0.0) -> None:
        if neg_iou_thr > pos_iou_thr:
            raise ValueError('MaxTIoUAssigner: neg_iou_thr must not exceed pos_iou_thr')
        self.pos_iou_thr = float(pos_iou_thr)
        self.neg_iou_thr = float(neg_iou_thr)
        self.match_low_quality = bool(match_low_quality)
        self.min_pos_iou = float(min_pos_iou)

    def assign(self, priors: torch.Tensor, gt_segments: torch.Tensor, gt_labels: torch.Tensor,
               valid: Optional[torch.Tensor] = None) -> SegmentAssignResult:
        """Args:
            priors: ``[N, 2]`` (start, end).
            gt_segments: ``[K, 2]`` (start, end); ``K`` may be 0 (all priors negative).
            gt_labels: ``[K]`` class indices.
            valid: ``[N]`` bool, False priors are ignored (e.g. centred in padding).
        """
        n = priors.shape[0]
        device = priors.device
        gt_inds = priors.new_zeros(n, dtype=torch.long)
        labels = priors.new_full((n,), -1, dtype=torch.long)
        if gt_segments.numel() == 0:
            max_tious = priors.new_zeros(n)
        else:
            tious = segment_tiou(priors.float(), gt_segments.float().to(device))  # [N, K]
            max_tious, argmax = tious.max(dim=1)
            gt_inds[(max_tious >= self.neg_iou_thr) & (max_tious <= self.pos_iou_thr)] = -1
            pos = max_tious > self.pos_iou_thr
            gt_inds[pos] = argmax[pos] + 1
            if self.match_low_quality:
                gt_best, _ = tious.max(dim=0)  # [K]
                for k in range(gt_segments.shape[0]):
                    if gt_best[k] >= self.min_pos_iou and gt_best[k] > 0:
                        best = tious[:, k] == gt_best[k]
                        gt_inds[best] = k + 1
            pos = gt_inds > 0
            labels[pos] = gt_labels.to(device)[gt_inds[pos] - 1].long()
        if valid is not None:
            gt_inds[~valid] = -1
            labels[~valid] = -1
        return SegmentAssignResult(gt_inds, max_tious, labels)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(pos_iou_thr={self.pos_iou_thr}, '
                f'neg_iou_thr={self.neg_iou_thr}, match_low_quality={self.match_low_quality})')


@TASK_UTILS.register_module()
class RegressRangeAssigner:
    """Anchor-free assignment (A2Net / FCOS style): a point is positive for a ground truth
    when its centre lies inside it (bounds included) and the ground truth's length is in the
    point's regress range ``[low, high)``; among several such ground truths the shortest wins
    (the first one on equal lengths). Every other point is negative.
    """

    def assign(self, points: torch.Tensor, gt_segments: torch.Tensor, gt_labels: torch.Tensor,
               regress_ranges: torch.Tensor,
               valid: Optional[torch.Tensor] = None) -> SegmentAssignResult:
        """Args:
            points: ``[N, 2]`` (centre, stride) or ``[N]`` centres.
            gt_segments: ``[K, 2]`` (start, end); ``K`` may be 0 (all points negative).
            gt_labels: ``[K]`` class indices.
            regress_ranges: ``[N, 2]`` (low, high) ground-truth length range of each point
                (its pyramid level's range).
            valid: ``[N]`` bool, False points are ignored (e.g. centred in padding).
        """
        c = points[:, 0] if points.dim() == 2 else points
        n = c.shape[0]
        gt_inds = c.new_zeros(n, dtype=torch.long)
        labels = c.new_full((n,), -1, dtype=torch.long)
        if gt_segments.shape[0]:
            gt = gt_segments.to(c)
            lengths = gt[:, 1] - gt[:, 0]  # [K]
            left = c[:, None] - gt[None, :, 0]  # [N, K]
            right = gt[None, :, 1] - c[:, None]
            inside = (left >= 0) & (right >= 0)
            ranges = regress_ranges.to(c)
            in_range = (lengths[None] >= ranges[:, :1]) & (lengths[None] < ranges[:, 1:])
            cand = inside & in_range
            area = torch.where(cand, lengths[None].expand_as(cand),
                               torch.full_like(left, float('inf')))
            best_len, best = area.min(dim=1)
            fg = torch.isfinite(best_len)
            gt_inds[fg] = best[fg] + 1
            labels[fg] = gt_labels.to(c.device).long()[best[fg]]
        if valid is not None:
            gt_inds[~valid] = -1
            labels[~valid] = -1
        return SegmentAssignResult(gt_inds, None, labels)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
