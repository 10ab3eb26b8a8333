"""SegTAD segmentation head: per-snippet action classes (C+1, background last) and start / end
probabilities on the 1D-SSN output."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.models.task_modules.segtad_targets import segtad_boundary_targets
from tadet.models.task_modules.snippet_targets import snippet_class_targets
from tadet.registry import MODELS
from tadet.structures import TADDataSample

from .base_tad_head import BaseTADHead, unpack_gt_instances


@MODELS.register_module()
class SegTADSegHead(BaseTADHead):
    """``num_convs`` x (k3 conv + ReLU), then 1x1 convs to ``num_classes + 1`` class logits and 2
    boundary logits (start, end).

    Targets: a snippet takes the class of the action containing its centre (shortest action on
    overlap, background = ``num_classes``; :func:`snippet_class_targets`); start / end are 1 on
    the first / last snippet of each action (:func:`segtad_boundary_targets`).

    Args:
        in_channels: channels of the SSN output ``[B, C, T]``.
        num_classes: foreground classes.
        feat_channels: hidden channels of the conv tower.
        num_convs: hidden conv layers (0 = 1x1 classifiers on the input).
        loss_cls: per-snippet classification loss (cross-entropy).
        loss_boundary: start / end loss, called with logits, 0/1 targets and the mask as
            ``weight`` (default: positive/negative balanced BCE; one boundary snippet per action
            is a ~1:30 imbalance).
        init_cfg: mmengine weight init config.

    It makes no candidates itself (no ``predict_by_feat``): the detector reads its snippet class
    probabilities (:meth:`probabilities`) to classify the PDN's proposals.
    """

    def __init__(self, in_channels: int, num_classes: int, feat_channels: int = 256,
                 num_convs: int = 1, loss_cls: Optional[dict] = None,
                 loss_boundary: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError('SegTADSegHead: num_classes must be >= 1')
        self.num_classes = int(num_classes)
        self.convs = nn.Sequential(*[
            ConvBlock1d(in_channels if i == 0 else feat_channels, feat_channels, 3)
            for i in range(num_convs)])
        width = feat_channels if num_convs else in_channels
        self.cls_out = nn.Conv1d(width, self.num_classes + 1, 1)
        self.boundary_out = nn.Conv1d(width, 2, 1)
        self.loss_cls = MODELS.build(loss_cls or dict(type='CrossEntropyLoss'))
        self.loss_boundary = MODELS.build(
            loss_boundary or dict(type='BalancedBCELoss', use_sigmoid=True))

    def forward(self, x: torch.Tensor,
                masks: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """``x [B, C, T]`` -> (class logits ``[B, num_classes + 1, T]``, boundary logits
        ``[B, 2, T]`` (start, end)); ``masks`` is unused (padding is ignored by the loss)."""
        h = self.convs(x)
        return self.cls_out(h), self.boundary_out(h)

    def get_targets(self, masks: torch.Tensor, gt_segments: List[torch.Tensor],
                    gt_labels: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """(class targets ``[B, T]`` with -100 on padding, boundary targets ``[B, 2, T]``)."""
        T = masks.shape[1]
        cls, bnd = [], []
        for segs, labels in zip(gt_segments, gt_labels):
            segs = segs.to(masks.device).float().reshape(-1, 2)
            cls.append(snippet_class_targets(segs, labels.to(masks.device), T, self.num_classes))
            bnd.append(torch.stack(segtad_boundary_targets(segs, T)))
        cls = torch.stack(cls).masked_fill(~masks.bool(), -100)
        return cls, torch.stack(bnd)

    def loss_by_feat(self, outs: Tuple[torch.Tensor, torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``outs`` = (class logits ``[B, C+1, T]``, boundary logits ``[B, 2, T]``), ``masks
        [B, T]`` -> ``dict(loss_seg_cls, loss_start, loss_end)``; padded snippets are
        ignored."""
        cls_logits, boundary_logits = outs
        gt_segments, gt_labels = unpack_gt_instances(data_samples, masks.device,
                                                    label_rule='specific')
        cls_t, bnd_t = self.get_targets(masks, gt_segments, gt_labels)
        flat = cls_logits.permute(0, 2, 1).reshape(-1, cls_logits.shape[1])
        w = masks.to(boundary_logits.dtype)
        return dict(
            loss_seg_cls=self.loss_cls(flat, cls_t.reshape(-1)),
            loss_start=self.loss_boundary(boundary_logits[:, 0], bnd_t[:, 0], weight=w),
            loss_end=self.loss_boundary(boundary_logits[:, 1], bnd_t[:, 1], weight=w))

    @staticmethod
    def probabilities(cls_logits: torch.Tensor) -> torch.Tensor:
        """Foreground class probabilities ``[B, T, num_classes]`` (softmax, background
        dropped)."""
        return cls_logits.softmax(dim=1)[:, :-1].permute(0, 2, 1)
