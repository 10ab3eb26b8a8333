"""A2Net anchor-based head: per-level k3 conv predicting, for every anchor, class logits
(background at index 0), an overlap (tIoU) logit and (dc, dw) regression deltas."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from tadet.registry import MODELS, TASK_UTILS


def prior_valid_mask(priors: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``priors [N, 2]`` (start, end) or ``[N]`` centres, ``masks [B, L]`` -> ``[B, N]`` bool:
    a prior is valid when the snippet holding its centre is a real (unpadded) snippet."""
    centres = priors.mean(-1) if priors.dim() == 2 else priors
    idx = centres.floor().long().clamp(0, masks.shape[-1] - 1)
    return masks[:, idx]


@MODELS.register_module()
class A2NetAnchorHead(nn.Module):
    """Anchor-based branch of A2Net.

    Args:
        num_classes: foreground classes ``C`` (the head predicts ``C + 1``).
        in_channels: channels of each pyramid level.
        kernel_size: of the per-level prediction conv (3).
        anchor_generator / segment_coder / assigner / sampler: ``TASK_UTILS`` configs.
        loss_cls / loss_overlap / loss_reg: ``MODELS`` loss configs (their ``loss_weight`` is the
            weight in the detector's total loss: A2Net 1, 10, 10).
        test_topk: (anchor, class) candidates kept per window at inference.
        test_score_thr: candidates at or below this score are dropped at inference.
    """

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
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.in_channels = tuple(in_channels)
        self.anchor_generator = TASK_UTILS.build(anchor_generator)
        self.segment_coder = TASK_UTILS.build(segment_coder)
        self.assigner = TASK_UTILS.build(assigner)
        self.sampler = TASK_UTILS.build(sampler)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_overlap = MODELS.build(loss_overlap)
        self.loss_reg = MODELS.build(loss_reg)
        self.test_topk = int(test_topk)
        self.test_score_thr = float(test_score_thr)
        self.num_anchors = self.anchor_generator.num_base_anchors
        # per anchor: C + 1 class logits, 1 overlap logit, 2 deltas
        self.out_dim = self.num_classes + 1 + 1 + 2
        self.preds = nn.ModuleList(
            nn.Conv1d(c, self.num_anchors * self.out_dim, kernel_size,
                      padding=kernel_size // 2) for c in self.in_channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Per level ``[B, c_l, T_l]`` -> raw per level ``[B, A * (C + 4), T_l]``."""
        if len(feats) != len(self.preds):
            raise ValueError(f'A2NetAnchorHead has {len(self.preds)} levels, got {len(feats)} '
                             f'feature maps')
        return [conv(f) for conv, f in zip(self.preds, feats)]

    def _flat_outputs(self, feats: Sequence[torch.Tensor]
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> cls ``[B, N, C + 1]``, overlap ``[B, N]``, deltas ``[B, N, 2]`` (N anchors, all
        levels, in the anchor generator's order)."""
        flat = torch.cat([self.anchor_generator.flatten_head_output(o, self.num_anchors)
                          for o in self(feats)], dim=1)
        c1 = self.num_classes + 1
        return flat[..., :c1], flat[..., c1], flat[..., c1 + 1:]

    def anchors(self, feats: Sequence[torch.Tensor], window_length: int) -> torch.Tensor:
        """``[N, 2]`` anchors of all levels in window snippets."""
        return torch.cat(self.anchor_generator.grid_anchors(
            [f.shape[-1] for f in feats], window_length, feats[0].device))

    def loss(self, feats: Sequence[torch.Tensor], masks: torch.Tensor,
             gt_segments: List[torch.Tensor], gt_labels: List[torch.Tensor]
             ) -> Dict[str, torch.Tensor]:
        """Args:
            feats: pyramid levels ``[B, c_l, T_l]``.
            masks: ``[B, L]`` True = real snippet.
            gt_segments / gt_labels: per sample ``[K, 2]`` window snippets / ``[K]``.
        Returns:
            ``loss_ab_cls`` (CE on sampled positives + hard negatives), ``loss_ab_overlap``
            (sigmoid(overlap) vs the anchor's max tIoU on the same anchors), ``loss_ab_reg``
            (smooth L1 on the positives' encoded deltas).
        """
        cls, overlap, deltas = self._flat_outputs(feats)
        anchors = self.anchors(feats, masks.shape[-1])
        valid = prior_valid_mask(anchors, masks)
        # hardness of a negative = its CE against background (detached, only for ranking)
        bg_loss = -torch.log_softmax(cls.detach(), dim=-1)[..., 0]
        sel_b, sel_i, sel_lab, sel_tiou = [], [], [], []
        pos_b, pos_i, pos_tgt = [], [], []
        for b in range(cls.shape[0]):
            res = self.assigner.assign(anchors, gt_segments[b].to(anchors), gt_labels[b],
                                       valid[b])
            pos, neg = self.sampler.sample(res, bg_loss[b])
            idx = torch.cat([pos, neg])
            sel_b.append(torch.full_like(idx, b))
            sel_i.append(idx)
            sel_lab.append(torch.cat([res.labels[pos] + 1, torch.zeros_like(neg)]))
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

    @torch.no_grad()
    def predict(self, feats: Sequence[torch.Tensor], masks: torch.Tensor) -> List[dict]:
        """Per window dict(segments ``[N, 2]`` window snippets, cls_scores ``[N, C]``):
        ``softmax`` class probabilities (background dropped) times ``sigmoid(overlap)``; only
        anchors centred on real snippets."""
        cls, overlap, deltas = self._flat_outputs(feats)
        anchors = self.anchors(feats, masks.shape[-1])
        valid = prior_valid_mask(anchors, masks)
        segs = self.segment_coder.decode(anchors[None].expand_as(deltas), deltas)
        scores = cls.softmax(-1)[..., 1:] * overlap.sigmoid()[..., None]
        return [dict(segments=segs[b][valid[b]], cls_scores=scores[b][valid[b]])
                for b in range(cls.shape[0])]
