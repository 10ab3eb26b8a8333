"""A2Net anchor-free head: every pyramid position classifies itself and regresses its
distances to both ends of the action it lies in; each level handles one range of lengths."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import Scale

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS, TASK_UTILS

from .a2net_anchor_head import prior_valid_mask


@MODELS.register_module()
class A2NetAnchorFreeHead(nn.Module):
    """Anchor-free branch of A2Net.

    Per level a 1x1 conv to ``feat_channels`` + ReLU; then a classification branch and a
    regression branch shared over levels, each ``num_convs`` x (k3 conv + ReLU) + k3 conv (to
    ``C + 1`` logits, background at 0, and to 2 distances). The distances (in units of the level
    stride) are multiplied by a learnable per-level scale.

    Targets (see :meth:`get_targets`): a point is foreground when its centre lies inside a
    ground truth whose length is in the level's ``regress_ranges`` (the shortest such ground
    truth if several); its targets are the distances from the centre to both ends divided by
    the level stride.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of each pyramid level.
        feat_channels: channels after the per-level 1x1 conv (512).
        num_convs: k3 conv + ReLU layers per branch before the prediction conv (2).
        kernel_size: of the branch convs (3).
        point_generator: ``TASK_UTILS`` config of a ``PointGenerator1d`` with ``regress_ranges``
            (window snippets, one ``(low, high)`` per level).
        loss_cls / loss_reg: ``MODELS`` loss configs (A2Net weights 30 and 1).
        test_topk / test_score_thr: candidate filtering per window at inference.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 feat_channels: int = 512,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 point_generator: dict = dict(
                     type='PointGenerator1d',
                     regress_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4))),
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=30.0),
                 loss_reg: dict = dict(type='SmoothL1Loss', loss_weight=1.0),
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.in_channels = tuple(in_channels)
        self.point_generator = TASK_UTILS.build(point_generator)
        # fail at build time, not at the first batch, if ranges and levels disagree
        self.point_generator.level_ranges(len(self.in_channels))
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_reg = MODELS.build(loss_reg)
        self.test_topk = int(test_topk)
        self.test_score_thr = float(test_score_thr)
        self.lateral = nn.ModuleList(ConvBlock1d(c, feat_channels, 1) for c in self.in_channels)

        def branch(out: int) -> nn.Sequential:
            layers = [ConvBlock1d(feat_channels, feat_channels, kernel_size)
                      for _ in range(num_convs)]
            layers.append(nn.Conv1d(feat_channels, out, kernel_size, padding=kernel_size // 2))
            return nn.Sequential(*layers)

        self.cls_branch = branch(self.num_classes + 1)
        self.reg_branch = branch(2)
        self.scales = nn.ModuleList(Scale(1.0) for _ in self.in_channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[List[torch.Tensor],
                                                             List[torch.Tensor]]:
        """Per level ``[B, c_l, T_l]`` -> (cls ``[B, C + 1, T_l]``, reg ``[B, 2, T_l]``) lists."""
        if len(feats) != len(self.lateral):
            raise ValueError(f'A2NetAnchorFreeHead has {len(self.lateral)} levels, got '
                             f'{len(feats)} feature maps')
        cls_out, reg_out = [], []
        for lat, scale, f in zip(self.lateral, self.scales, feats):
            x = lat(f)
            cls_out.append(self.cls_branch(x))
            reg_out.append(scale(self.reg_branch(x)))
        return cls_out, reg_out

    def _flat(self, feats, window_length):
        cls_out, reg_out = self(feats)
        cls = torch.cat([c.transpose(1, 2) for c in cls_out], dim=1)  # [B, N, C + 1]
        reg = torch.cat([r.transpose(1, 2) for r in reg_out], dim=1)  # [B, N, 2]
        points = self.point_generator.grid_points([f.shape[-1] for f in feats], window_length,
                                                  feats[0].device)
        return cls, reg, points

    def get_targets(self, points: List[torch.Tensor], gt_segments: torch.Tensor,
                    gt_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """One sample's targets.

        Args:
            points: per level ``[T_l, 2]`` (centre, stride).
            gt_segments: ``[K, 2]`` window snippets; ``gt_labels``: ``[K]``.
        Returns:
            labels ``[N]`` (0 background, ``k + 1`` class k), distances ``[N, 2]`` (to start,
            to end, in level strides; 0 for background).
        """
        ranges = self.point_generator.level_ranges(len(points), gt_segments.device)
        labels, dists = [], []
        lengths = gt_segments[:, 1] - gt_segments[:, 0]  # [K]
        for pts, (lo, hi) in zip(points, ranges):
            c, s = pts[:, 0], pts[:, 1]
            n = c.shape[0]
            if gt_segments.shape[0] == 0:
                labels.append(c.new_zeros(n, dtype=torch.long))
                dists.append(c.new_zeros(n, 2))
                continue
            left = c[:, None] - gt_segments[None, :, 0]  # [T, K]
            right = gt_segments[None, :, 1] - c[:, None]
            inside = (left >= 0) & (right >= 0)
            in_range = (lengths >= lo) & (lengths < hi)
            cand = inside & in_range[None]
            # the shortest candidate ground truth wins an ambiguous point
            area = torch.where(cand, lengths[None].expand_as(cand),
                               torch.full_like(left, float('inf')))
            best_len, best = area.min(dim=1)
            fg = torch.isfinite(best_len)
            lab = torch.where(fg, gt_labels[best].long() + 1, torch.zeros_like(best))
            d = torch.stack([left.gather(1, best[:, None])[:, 0],
                             right.gather(1, best[:, None])[:, 0]], dim=1) / s[:, None]
            labels.append(lab)
            dists.append(torch.where(fg[:, None], d, torch.zeros_like(d)))
        return torch.cat(labels), torch.cat(dists)

    def loss(self, feats: Sequence[torch.Tensor], masks: torch.Tensor,
             gt_segments: List[torch.Tensor], gt_labels: List[torch.Tensor]
             ) -> Dict[str, torch.Tensor]:
        """``loss_af_cls``: CE over all valid points; ``loss_af_reg``: smooth L1 of the
        stride-normalised distances on foreground points."""
        cls, reg, points = self._flat(feats, masks.shape[-1])
        centres = torch.cat([p[:, 0] for p in points])
        valid = prior_valid_mask(centres, masks)  # [B, N]
        targets = [self.get_targets(points, g.to(centres), lab.to(centres.device))
                   for g, lab in zip(gt_segments, gt_labels)]
        labels = torch.stack([t[0] for t in targets])  # [B, N]
        dists = torch.stack([t[1] for t in targets])  # [B, N, 2]
        loss_cls = self.loss_cls(cls[valid], labels[valid], avg_factor=max(int(valid.sum()), 1))
        fg = (labels > 0) & valid
        if fg.any():
            loss_reg = self.loss_reg(reg[fg], dists[fg], avg_factor=int(fg.sum()) * 2)
        else:
            loss_reg = reg.sum() * 0.0
        return dict(loss_af_cls=loss_cls, loss_af_reg=loss_reg)

    @torch.no_grad()
    def predict(self, feats: Sequence[torch.Tensor], masks: torch.Tensor) -> List[dict]:
        """Per window dict(segments ``[N, 2]`` window snippets, cls_scores ``[N, C]`` softmax
        probabilities without background), points centred on real snippets only."""
        cls, reg, points = self._flat(feats, masks.shape[-1])
        pts = torch.cat(points)  # [N, 2]
        valid = prior_valid_mask(pts[:, 0], masks)
        d = reg.clamp(min=0) * pts[None, :, 1:2]
        segs = torch.stack([pts[None, :, 0] - d[..., 0], pts[None, :, 0] + d[..., 1]], dim=-1)
        scores = cls.softmax(-1)[..., 1:]
        return [dict(segments=segs[b][valid[b]], cls_scores=scores[b][valid[b]])
                for b in range(cls.shape[0])]
