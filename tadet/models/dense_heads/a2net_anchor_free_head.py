"""A2Net anchor-free head: every pyramid position classifies itself and regresses its
distances to both ends of the action it lies in; each level handles one range of lengths."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import Scale

from tadet.models.layers import ConvBlock1d
from tadet.models.task_modules.prior_generators import prior_valid_mask
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

from .a2net_anchor_head import (CANDIDATE_MODES, DEFAULT_PRE_NMS_TOPK, DEFAULT_SCORE_THR,
                                check_background_thr, check_choice, class_candidates)
from .base_tad_head import CANDIDATE_TEST_KEYS, BaseTADHead, unpack_gt_instances


@MODELS.register_module()
class A2NetAnchorFreeHead(BaseTADHead):
    """Anchor-free branch of A2Net.

    Per level a 1x1 conv to ``feat_channels`` + ReLU; then a classification branch and a
    regression branch shared over levels, each ``num_convs`` x (k3 conv + ReLU) + k3 conv (to
    ``C + 1`` logits, background last, and to 2 distances). The distances (in
    ``regress_unit``) are multiplied by a learnable per-level scale.

    Targets (see :meth:`get_targets`): the ``assigner`` (``RegressRangeAssigner``) makes a point
    foreground when its centre lies inside a ground truth whose length is in the level's
    ``regress_ranges`` (the shortest such ground truth if several); its regression targets are
    the distances from the centre to both ends in ``regress_unit``.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of each pyramid level.
        feat_channels: channels after the per-level 1x1 conv (512).
        num_convs: k3 conv + ReLU layers per branch before the prediction conv (2).
        kernel_size: of the branch convs (3).
        point_generator: ``TASK_UTILS`` config of a ``PointGenerator1d`` with ``regress_ranges``
            (window snippets, one ``(low, high)`` per level).
        assigner: ``TASK_UTILS`` config of the point assigner (``RegressRangeAssigner``).
        regress_unit: ``'base'`` (authors: distances in base units, one base unit =
            ``base_unit`` window snippets, the same unit on every level, so that the weights
            30 / 1 of ``loss_cls`` / ``loss_reg`` balance as in the paper) or ``'stride'``
            (earlier variant: distances divided by the level stride, O(1) on every level).
        base_unit: window snippets per base unit (2: the neck's ``base_pool``).
        reg_avg: ``'points'`` (authors: smooth-L1 summed over both ends, averaged over
            foreground points) or ``'coords'`` (earlier variant: averaged over both ends too).
        candidates: ``'foreground_argmax'`` (authors), ``'argmax'`` (an earlier reading) or
            ``'per_class'``, see
            :func:`tadet.models.dense_heads.a2net_anchor_head.class_candidates`.
        background_thr: points whose background probability is at or above it make no
            candidate (``'foreground_argmax'``); ``None`` (authors: no filter on this branch)
            keeps every point.
        loss_cls / loss_reg: ``MODELS`` loss configs (A2Net weights 30 and 1).
        init_cfg: mmengine weight init config.

    Test-time ``test_cfg`` keys: ``pre_nms_topk`` / ``score_thr`` (candidate filtering per
    window, defaults 1000 / 0), as for :class:`A2NetAnchorHead`.
    """

    TEST_CFG_KEYS = CANDIDATE_TEST_KEYS

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 feat_channels: int = 512,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 point_generator: dict = dict(
                     type='PointGenerator1d',
                     regress_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4))),
                 assigner: dict = dict(type='RegressRangeAssigner'),
                 regress_unit: str = 'base',
                 base_unit: float = 2.0,
                 reg_avg: str = 'points',
                 candidates: str = 'foreground_argmax',
                 background_thr: Optional[float] = None,
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=30.0),
                 loss_reg: dict = dict(type='SmoothL1Loss', loss_weight=1.0),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = int(num_classes)
        self.in_channels = tuple(in_channels)
        name = type(self).__name__
        self.regress_unit = check_choice(name, 'regress_unit', regress_unit, ('base', 'stride'))
        if not base_unit > 0:
            raise ValueError(f'{name}: base_unit must be positive, got {base_unit}')
        self.base_unit = float(base_unit)
        self.reg_avg = check_choice(name, 'reg_avg', reg_avg, ('points', 'coords'))
        self.candidates = check_choice(name, 'candidates', candidates, CANDIDATE_MODES)
        self.background_thr = check_background_thr(name, background_thr)
        self.point_generator = TASK_UTILS.build(point_generator)
        # fail at build time, not at the first batch, if ranges and levels disagree
        self.point_generator.level_ranges(len(self.in_channels))
        self.assigner = TASK_UTILS.build(assigner)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_reg = MODELS.build(loss_reg)
        self.lateral = nn.ModuleList(ConvBlock1d(c, feat_channels, 1) for c in self.in_channels)

        def branch(out: int) -> nn.Sequential:
            layers = [ConvBlock1d(feat_channels, feat_channels, kernel_size)
                      for _ in range(num_convs)]
            layers.append(nn.Conv1d(feat_channels, out, kernel_size, padding=kernel_size // 2))
            return nn.Sequential(*layers)

        self.cls_branch = branch(self.num_classes + 1)
        self.reg_branch = branch(2)
        self.scales = nn.ModuleList(Scale(1.0) for _ in self.in_channels)

    def forward(self, feats: Sequence[torch.Tensor], masks: Optional[torch.Tensor] = None
                ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Per level ``[B, c_l, T_l]`` -> (cls ``[B, C + 1, T_l]``, reg ``[B, 2, T_l]``) lists
        (``masks`` unused: every position predicts)."""
        if len(feats) != len(self.lateral):
            raise ValueError(f'{type(self).__name__} has {len(self.lateral)} levels, got '
                             f'{len(feats)} feature maps')
        cls_out, reg_out = [], []
        for lat, scale, f in zip(self.lateral, self.scales, feats):
            x = lat(f)
            cls_out.append(self.cls_branch(x))
            reg_out.append(scale(self.reg_branch(x)))
        return cls_out, reg_out

    def _flat(self, outs: Tuple[List[torch.Tensor], List[torch.Tensor]], window_length: int
              ) -> Tuple[torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        """Raw outputs -> cls ``[B, N, C + 1]``, reg ``[B, N, 2]``, points per level
        ``[T_l, 2]`` (centre, stride)."""
        cls_out, reg_out = outs
        cls = torch.cat([c.transpose(1, 2) for c in cls_out], dim=1)
        reg = torch.cat([r.transpose(1, 2) for r in reg_out], dim=1)
        points = self.point_generator.grid_points([c.shape[-1] for c in cls_out], window_length,
                                                  cls.device)
        return cls, reg, points

    def reg_unit(self, points: torch.Tensor) -> torch.Tensor:
        """``points [N, 2]`` (centre, stride) -> ``[N, 1]`` window snippets per regression
        unit (``base_unit`` or the point's stride)."""
        if self.regress_unit == 'base':
            return torch.full_like(points[:, 1:2], self.base_unit)
        return points[:, 1:2]

    def get_targets(self, points: List[torch.Tensor], gt_segments: torch.Tensor,
                    gt_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """One sample's targets.

        Args:
            points: per level ``[T_l, 2]`` (centre, stride).
            gt_segments: ``[K, 2]`` window snippets; ``gt_labels``: ``[K]``.
        Returns:
            labels ``[N]`` (class k, ``num_classes`` = background), distances ``[N, 2]`` (to start,
            to end, in ``regress_unit``; 0 for background).
        """
        ranges = self.point_generator.level_ranges(len(points), gt_segments.device)
        # each point reads its level's (low, high) length range
        point_ranges = torch.cat([r[None].expand(p.shape[0], 2) for p, r in zip(points, ranges)])
        pts = torch.cat(points)  # [N, 2]
        res = self.assigner.assign(pts, gt_segments, gt_labels, point_ranges)
        fg = res.gt_inds > 0
        labels = torch.where(fg, res.labels, torch.full_like(res.labels, self.num_classes))
        if gt_segments.shape[0] == 0:
            return labels, pts.new_zeros(pts.shape[0], 2)
        gts = gt_segments.to(pts)[(res.gt_inds - 1).clamp(min=0)]  # [N, 2]
        c = pts[:, 0]
        d = torch.stack([c - gts[:, 0], gts[:, 1] - c], dim=1) / self.reg_unit(pts)
        return labels, torch.where(fg[:, None], d, torch.zeros_like(d))

    def loss_by_feat(self, outs: Tuple[List[torch.Tensor], List[torch.Tensor]],
                     masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``loss_af_cls``: CE over all valid points; ``loss_af_reg``: smooth L1 of the
        distances (``regress_unit``) on foreground points (``reg_avg``)."""
        cls, reg, points = self._flat(outs, masks.shape[-1])
        centres = torch.cat([p[:, 0] for p in points])
        valid = prior_valid_mask(centres, masks)  # [B, N]
        gt_segments, gt_labels = unpack_gt_instances(data_samples, centres.device,
                                                    label_rule='specific')
        targets = [self.get_targets(points, g, lab) for g, lab in zip(gt_segments, gt_labels)]
        labels = torch.stack([t[0] for t in targets])  # [B, N]
        dists = torch.stack([t[1] for t in targets])  # [B, N, 2]
        loss_cls = self.loss_cls(cls[valid], labels[valid], avg_factor=max(int(valid.sum()), 1))
        fg = (labels < self.num_classes) & valid
        if fg.any():
            per = 1 if self.reg_avg == 'points' else 2
            loss_reg = self.loss_reg(reg[fg], dists[fg], avg_factor=int(fg.sum()) * per)
        else:
            loss_reg = reg.sum() * 0.0
        return dict(loss_af_cls=loss_cls, loss_af_reg=loss_reg)

    def predict_by_feat(self, outs: Tuple[List[torch.Tensor], List[torch.Tensor]],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window the best ``pre_nms_topk`` candidates scoring above ``score_thr``:
        dict(segments ``[N, 2]`` window snippets, scores ``[N]`` softmax probabilities, labels
        ``[N]``); one per point (its best foreground class, unless background reaches
        ``background_thr``) or per (point, class), see ``candidates``; points centred on real
        snippets only."""
        cls, reg, points = self._flat(outs, masks.shape[-1])
        pts = torch.cat(points)  # [N, 2]
        valid = prior_valid_mask(pts[:, 0], masks)
        d = reg.clamp(min=0) * self.reg_unit(pts)[None]
        segs = torch.stack([pts[None, :, 0] - d[..., 0], pts[None, :, 0] + d[..., 1]], dim=-1)
        probs = cls.softmax(-1)
        topk = self.get_test_cfg('pre_nms_topk', DEFAULT_PRE_NMS_TOPK)
        thr = self.get_test_cfg('score_thr', DEFAULT_SCORE_THR)
        return [class_candidates(segs[b][valid[b]], probs[b][valid[b]], self.candidates, topk,
                                 thr, background_thr=self.background_thr)
                for b in range(cls.shape[0])]
