"""A2Net anchor-based head: per-level k3 conv predicting, for every anchor, class logits
(background at the last index, ``num_classes``), an overlap (tIoU) logit and (dc, dw)
regression deltas."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from tadet.models.post_processing import decode_class_scores
from tadet.models.task_modules.prior_generators import prior_valid_mask
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

from .base_tad_head import CANDIDATE_TEST_KEYS, BaseTADHead, unpack_gt_instances

# candidates kept per window when test_cfg does not set pre_nms_topk / score_thr
DEFAULT_PRE_NMS_TOPK = 1000
DEFAULT_SCORE_THR = 0.0


@MODELS.register_module()
class A2NetAnchorHead(BaseTADHead):
    """Anchor-based branch of A2Net.

    Args:
        num_classes: foreground classes ``C`` (the head predicts ``C + 1``, background last).
        in_channels: channels of each pyramid level.
        kernel_size: of the per-level prediction conv (3).
        anchor_generator / segment_coder / assigner / sampler: ``TASK_UTILS`` configs.
        loss_cls / loss_overlap / loss_reg: ``MODELS`` loss configs (their ``loss_weight`` is the
            weight in the detector's total loss: A2Net 1, 10, 10).
        init_cfg: mmengine weight init config.

    Test-time ``test_cfg`` keys: ``pre_nms_topk`` (best (anchor, class) candidates kept per
    window, default 1000) and ``score_thr`` (candidates at or below it are dropped, default 0).
    """

    TEST_CFG_KEYS = CANDIDATE_TEST_KEYS

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 kernel_size: int = 3,
                 anchor_generator: dict = dict(type='AnchorGenerator1d',
                                               scales=(0.5, 0.75, 1.0, 1.5, 2.0)),
                 segment_coder: dict = dict(type='DeltaCWSegmentCoder', center_scale=0.1,
                                            width_scale=0.1),
                 assigner: dict = dict(type='MaxTIoUAssigner', pos_iou_thr=0.5,
                                       neg_iou_thr=0.5),
                 sampler: dict = dict(type='HardNegativeSampler', neg_pos_ratio=1.0),
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 loss_overlap: dict = dict(type='MSELoss', use_sigmoid=True, loss_weight=10.0),
                 loss_reg: dict = dict(type='SmoothL1Loss', loss_weight=10.0),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = int(num_classes)
        self.in_channels = tuple(in_channels)
        self.anchor_generator = TASK_UTILS.build(anchor_generator)
        self.segment_coder = TASK_UTILS.build(segment_coder)
        self.assigner = TASK_UTILS.build(assigner)
        self.sampler = TASK_UTILS.build(sampler)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_overlap = MODELS.build(loss_overlap)
        self.loss_reg = MODELS.build(loss_reg)
        self.num_anchors = self.anchor_generator.num_base_anchors
        # per anchor: C + 1 class logits, 1 overlap logit, 2 deltas
        self.out_dim = self.num_classes + 1 + 1 + 2
        self.preds = nn.ModuleList(
            nn.Conv1d(c, self.num_anchors * self.out_dim, kernel_size,
                      padding=kernel_size // 2) for c in self.in_channels)

    def forward(self, feats: Sequence[torch.Tensor],
                masks: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """Per level ``[B, c_l, T_l]`` -> raw per level ``[B, A * (C + 4), T_l]`` (``masks``
        unused: every position predicts)."""
        if len(feats) != len(self.preds):
            raise ValueError(f'A2NetAnchorHead has {len(self.preds)} levels, got {len(feats)} '
                             f'feature maps')
        return [conv(f) for conv, f in zip(self.preds, feats)]

    def _flat_outputs(self, outs: Sequence[torch.Tensor]
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw per-level outputs -> cls ``[B, N, C + 1]``, overlap ``[B, N]``, deltas
        ``[B, N, 2]`` (N anchors, all levels, in the anchor generator's order)."""
        flat = torch.cat([self.anchor_generator.flatten_head_output(o, self.num_anchors)
                          for o in outs], dim=1)
        c1 = self.num_classes + 1
        return flat[..., :c1], flat[..., c1], flat[..., c1 + 1:]

    def anchors(self, outs: Sequence[torch.Tensor], window_length: int) -> torch.Tensor:
        """``[N, 2]`` anchors of all levels in window snippets (level lengths and device read
        from the per-level maps ``outs``, features or raw outputs)."""
        return torch.cat(self.anchor_generator.grid_anchors(
            [o.shape[-1] for o in outs], window_length, outs[0].device))

    def loss_by_feat(self, outs: List[torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """Args:
            outs: raw per-level outputs of :meth:`forward`.
            masks: ``[B, L]`` True = real snippet.
            data_samples: ground truth in window snippets.
        Returns:
            ``loss_ab_cls`` (CE on sampled positives + hard negatives), ``loss_ab_overlap``
            (sigmoid(overlap) vs the anchor's max tIoU on the same anchors), ``loss_ab_reg``
            (smooth L1 on the positives' encoded deltas).
        """
        cls, overlap, deltas = self._flat_outputs(outs)
        anchors = self.anchors(outs, masks.shape[-1])
        gt_segments, gt_labels = unpack_gt_instances(data_samples, anchors.device,
                                                    label_rule='specific')
        valid = prior_valid_mask(anchors, masks)
        # hardness of a negative = its CE against background (detached, only for ranking)
        bg_loss = -torch.log_softmax(cls.detach(), dim=-1)[..., self.num_classes]
        sel_b, sel_i, sel_lab, sel_tiou = [], [], [], []
        pos_b, pos_i, pos_tgt = [], [], []
        for b in range(cls.shape[0]):
            res = self.assigner.assign(anchors, gt_segments[b].to(anchors), gt_labels[b],
                                       valid[b])
            pos, neg = self.sampler.sample(res, bg_loss[b])
            idx = torch.cat([pos, neg])
            sel_b.append(torch.full_like(idx, b))
            sel_i.append(idx)
            sel_lab.append(torch.cat([res.labels[pos],
                                      torch.full_like(neg, self.num_classes)]))
            sel_tiou.append(res.max_tious[idx])
            if pos.numel():
                gts = gt_segments[b].to(anchors)[res.gt_inds[pos] - 1]
                pos_b.append(torch.full_like(pos, b))
                pos_i.append(pos)
                pos_tgt.append(self.segment_coder.encode(anchors[pos], gts))
        sel_b, sel_i = torch.cat(sel_b), torch.cat(sel_i)
        num_sel = max(sel_i.numel(), 1)
        loss_cls = self.loss_cls(cls[sel_b, sel_i], torch.cat(sel_lab), avg_factor=num_sel)
        loss_overlap = self.loss_overlap(overlap[sel_b, sel_i], torch.cat(sel_tiou),
                                         avg_factor=num_sel)
        if pos_i:
            pb, pi = torch.cat(pos_b), torch.cat(pos_i)
            tgt = torch.cat(pos_tgt)
            loss_reg = self.loss_reg(deltas[pb, pi], tgt, avg_factor=tgt.numel())
        else:  # no positive in the batch: zero that keeps the graph
            loss_reg = deltas.sum() * 0.0
        return dict(loss_ab_cls=loss_cls, loss_ab_overlap=loss_overlap, loss_ab_reg=loss_reg)

    def predict_by_feat(self, outs: List[torch.Tensor],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window the best ``pre_nms_topk`` (anchor, class) candidates scoring above
        ``score_thr``: dict(segments ``[N, 2]`` window snippets, scores ``[N]``, labels
        ``[N]``). Score = ``softmax`` class probability (background dropped) times
        ``sigmoid(overlap)``; only anchors centred on real snippets."""
        cls, overlap, deltas = self._flat_outputs(outs)
        anchors = self.anchors(outs, masks.shape[-1])
        valid = prior_valid_mask(anchors, masks)
        segs = self.segment_coder.decode(anchors[None].expand_as(deltas), deltas)
        scores = cls.softmax(-1)[..., :self.num_classes] * overlap.sigmoid()[..., None]
        topk = self.get_test_cfg('pre_nms_topk', DEFAULT_PRE_NMS_TOPK)
        thr = self.get_test_cfg('score_thr', DEFAULT_SCORE_THR)
        return [decode_class_scores(segs[b][valid[b]], scores[b][valid[b]], topk, thr)
                for b in range(cls.shape[0])]
