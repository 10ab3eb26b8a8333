"""Tutorial (docs/tutorials/custom_head.md): a custom head registered from outside tadet.

``DepthwiseAnchorFreeHead`` is A2Net's anchor-free head with depthwise-separable branch convs
(a ``dw_kernel_size`` depthwise conv + a 1x1 pointwise conv per layer): far fewer parameters
for the same receptive field. Like every tadet head it is a ``BaseTADHead``; ``forward``,
``loss_by_feat`` (targets from the ``assigner``, losses) and ``predict_by_feat`` (candidates cut
to ``test_cfg.pre_nms_topk`` / ``score_thr``) are inherited unchanged: only the branch convs
that ``forward`` calls are replaced.
Configs load it with ``custom_imports = dict(imports=['configs.tutorials.depthwise_head'])``
(the repository root is on ``sys.path`` in ``tools/*.py``).
"""
from typing import List, Optional, Sequence, Union

import torch.nn as nn

from tadet.models.dense_heads import A2NetAnchorFreeHead
from tadet.registry import MODELS


class DepthwiseSeparableConv1d(nn.Sequential):
    """``[B, C, T]`` -> depthwise k conv -> pointwise 1x1 conv + ReLU -> ``[B, C_out, T]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 act: bool = True) -> None:
        layers = [nn.Conv1d(in_channels, in_channels, kernel_size, padding=kernel_size // 2,
                            groups=in_channels),
                  nn.Conv1d(in_channels, out_channels, 1)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


@MODELS.register_module()
class DepthwiseAnchorFreeHead(A2NetAnchorFreeHead):
    """A2NetAnchorFreeHead with depthwise-separable branches.

    Args:
        dw_kernel_size: kernel of the depthwise convs (5).
        others: see :class:`tadet.models.dense_heads.A2NetAnchorFreeHead` (listed explicitly
            so that a misspelt key is an error naming it).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 feat_channels: int = 512,
                 num_convs: int = 2,
                 dw_kernel_size: int = 5,
                 point_generator: dict = dict(
                     type='PointGenerator1d',
                     regress_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4))),
                 assigner: dict = dict(type='RegressRangeAssigner'),
                 regress_unit: str = 'base',
                 base_unit: float = 2.0,
                 reg_avg: str = 'points',
                 candidates: str = 'argmax',
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=30.0),
                 loss_reg: dict = dict(type='SmoothL1Loss', loss_weight=1.0),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels,
                         feat_channels=feat_channels, num_convs=num_convs, kernel_size=3,
                         point_generator=point_generator, assigner=assigner,
                         regress_unit=regress_unit, base_unit=base_unit, reg_avg=reg_avg,
                         candidates=candidates,
                         loss_cls=loss_cls, loss_reg=loss_reg, init_cfg=init_cfg)

        # replace the parent's branches; forward / targets / losses stay the parent's
        def branch(out: int) -> nn.Sequential:
            layers = [DepthwiseSeparableConv1d(feat_channels, feat_channels, dw_kernel_size)
                      for _ in range(num_convs)]
            layers.append(DepthwiseSeparableConv1d(feat_channels, out, dw_kernel_size,
                                                   act=False))
            return nn.Sequential(*layers)

        # C + 1 logits, background last: the parent's targets and decoding read that order
        self.cls_branch = branch(self.num_classes + 1)
        self.reg_branch = branch(2)


__all__ = ['DepthwiseAnchorFreeHead', 'DepthwiseSeparableConv1d']
