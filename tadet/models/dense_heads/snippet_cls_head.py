"""Per-snippet action classification, the class source of proposal-only detectors.

BMN, G-TAD and RCL score class-agnostic proposals; on THUMOS14 without an external video-level
classifier they take class scores from this head through
:class:`tadet.models.post_processing.ProposalClassFusion` (mean snippet probabilities inside
each proposal, :func:`proposal_class_scores`). SegTAD's segmentation branch uses the same
targets and the same pooling.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d, DilatedResidualLayer
from tadet.models.post_processing.proposal_class_fusion import proposal_class_scores  # noqa: F401
from tadet.models.task_modules.snippet_targets import snippet_class_targets
from tadet.registry import MODELS
from tadet.structures import TADDataSample

from .base_tad_head import BaseTADHead, unpack_gt_instances


@MODELS.register_module()
class SnippetClassificationHead(BaseTADHead):
    """``num_convs`` x (k3 conv + ReLU), ``num_dilated_layers`` dilated residual layers, then a
    1x1 conv to ``num_classes + 1`` logits.

    The dilated layers (:class:`DilatedResidualLayer`, as in :class:`SnippetBaseline`) widen the
    receptive field: with dilations ``1, 2, 4, 8`` cycled, 8 layers see 61 snippets, where one
    k3 conv on a k3 encoder sees 7. On noisy features a snippet's class is only readable from
    its context, and these scores are the class scores of every proposal.

    An auxiliary head: it makes no candidates itself; the detector turns its
    :meth:`probabilities` and the proposals into (segment, class) candidates with
    ``ProposalClassFusion``.

    Args:
        in_channels: channels of the input features ``[B, C, T]``.
        num_classes: foreground classes; background is the last logit.
        feat_channels: hidden channels.
        num_convs: hidden conv layers.
        num_dilated_layers: dilated residual layers after them (``feat_channels`` wide; with
            ``num_convs=0``, ``in_channels`` must equal ``feat_channels``).
        dilations: dilation of each dilated layer, cycled.
        loss_cls: per-snippet classification loss (default cross-entropy).
        init_cfg: mmengine weight initialisation config.
    """

    def __init__(self, in_channels: int, num_classes: int, feat_channels: int = 256,
                 num_convs: int = 1, num_dilated_layers: int = 0,
                 dilations: Sequence[int] = (1, 2, 4, 8), loss_cls: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError('SnippetClassificationHead: num_classes must be >= 1')
        self.num_classes = int(num_classes)
        layers = [ConvBlock1d(in_channels if i == 0 else feat_channels, feat_channels, 3)
                  for i in range(num_convs)]
        self.convs = nn.Sequential(*layers)
        out_channels = feat_channels if num_convs else in_channels
        if num_dilated_layers < 0 or not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f'SnippetClassificationHead: num_dilated_layers must be >= 0 and '
                             f'dilations positive integers, got {num_dilated_layers} / '
                             f'{dilations}')
        if num_dilated_layers and out_channels != feat_channels:
            raise ValueError(f'SnippetClassificationHead: dilated layers are feat_channels '
                             f'({feat_channels}) wide; with num_convs=0 in_channels must match, '
                             f'got {in_channels}')
        self.dilated_layers = nn.ModuleList([
            DilatedResidualLayer(feat_channels, int(dilations[i % len(dilations)]))
            for i in range(num_dilated_layers)])
        self.cls_out = nn.Conv1d(out_channels, self.num_classes + 1, 1)
        self.loss_cls = MODELS.build(loss_cls or dict(type='CrossEntropyLoss'))

    def forward(self, x: torch.Tensor, masks: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C, T]``, ``masks [B, T]`` -> logits ``[B, num_classes + 1, T]`` (padded
        snippets are ignored by the loss; with dilated layers they are zeroed, so that they do
        not leak into real snippets)."""
        if not len(self.dilated_layers):
            return self.cls_out(self.convs(x))
        # a wide receptive field would carry padding far into the real snippets: zero it at the
        # input and after every layer
        m = torch.ones_like(x[:, :1]) if masks is None else masks[:, None].to(x.dtype)
        x = self.convs(x * m) * m
        for layer in self.dilated_layers:
            x = layer(x, m)
        return self.cls_out(x)

    def targets(self, masks: torch.Tensor, gt_segments: List[torch.Tensor],
                gt_labels: List[torch.Tensor]) -> torch.Tensor:
        """``[B, T]`` class targets; padded snippets are -100 (ignored)."""
        T = masks.shape[1]
        targets = torch.stack([
            snippet_class_targets(s.to(masks.device).float(), lab.to(masks.device), T,
                                  self.num_classes)
            for s, lab in zip(gt_segments, gt_labels)])
        return targets.masked_fill(~masks.bool(), -100)

    def loss_by_feat(self, logits: torch.Tensor, masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``logits [B, C+1, T]``, ``masks [B, T]`` -> ``dict(loss_snippet_cls)``."""
        gt_segments, gt_labels = unpack_gt_instances(data_samples, logits.device,
                                                    label_rule='specific')
        targets = self.targets(masks, gt_segments, gt_labels)
        flat = logits.permute(0, 2, 1).reshape(-1, logits.shape[1])
        return dict(loss_snippet_cls=self.loss_cls(flat, targets.reshape(-1)))

    @staticmethod
    def probabilities(logits: torch.Tensor) -> torch.Tensor:
        """Foreground probabilities ``[B, T, num_classes]`` (softmax, background dropped)."""
        return logits.softmax(dim=1)[:, :-1].permute(0, 2, 1)
