"""BMN's temporal evaluation module (TEM): per-snippet start and end probabilities.

An auxiliary head (it makes no candidates): the grid proposal heads (``BMHead``, ``GTADHead``)
and ``RCLHead`` own one as their ``tem_head`` submodule, add its losses to theirs and read its
probabilities to decode candidates."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.models.task_modules.boundary_targets import boundary_targets
from tadet.registry import MODELS
from tadet.structures import TADDataSample

from .base_tad_head import BaseTADHead, unpack_gt_instances


@MODELS.register_module()
class TEMHead(BaseTADHead):
    """Two branches (start, end), each ``num_convs`` x (k3 grouped conv + ReLU) then a 1x1 conv
    and a sigmoid (BMN: one k3 conv, 256 channels, 4 groups).

    Targets: :func:`tadet.models.task_modules.boundary_targets.boundary_targets` (start of
    snippet ``t`` = boundary at ``t``, end of snippet ``t`` = boundary at ``t + 1``).

    Args:
        in_channels: input channels ``C``.
        feat_channels: hidden channels of each branch.
        num_convs: hidden convs per branch.
        groups: groups of the hidden convs (``in_channels`` and ``feat_channels`` divisible).
        region_width / region_ratio: boundary region of the targets (snippets / fraction of the
            action length, see ``boundary_targets``).
        loss: loss on the probabilities, applied to start and end separately (default the
            balanced BCE of BMN, positives where target > 0.5).
        init_cfg: mmengine weight initialisation config.
    """

    def __init__(self, in_channels: int, feat_channels: int = 256, num_convs: int = 1,
                 groups: int = 4, region_width: float = 3.0, region_ratio: float = 0.0,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_convs and (in_channels % groups or feat_channels % groups):
            raise ValueError(f'TEMHead: in_channels={in_channels} and feat_channels='
                             f'{feat_channels} must be divisible by groups={groups}')
        self.region_width = float(region_width)
        self.region_ratio = float(region_ratio)

        def branch():
            layers = [ConvBlock1d(in_channels if i == 0 else feat_channels, feat_channels, 3,
                                  groups=groups) for i in range(num_convs)]
            layers.append(nn.Conv1d(feat_channels if num_convs else in_channels, 1, 1))
            return nn.Sequential(*layers)

        self.start_branch = branch()
        self.end_branch = branch()
        self.loss_tem = MODELS.build(loss or dict(type='BalancedBCELoss', pos_thr=0.5))

    def forward(self, feats: torch.Tensor,
                masks: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """``feats [B, C, T]`` -> (start ``[B, T]``, end ``[B, T]``) probabilities (``masks``
        unused: padded snippets are ignored by the loss)."""
        start = self.start_branch(feats).squeeze(1).sigmoid()
        end = self.end_branch(feats).squeeze(1).sigmoid()
        return start, end

    def targets(self, masks: torch.Tensor,
                gt_segments: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """(start ``[B, T]``, end ``[B, T]``) targets for windows of ``T = masks.shape[1]``."""
        T = masks.shape[1]
        pairs = [boundary_targets(s.to(masks.device).float(), T, self.region_width,
                                  self.region_ratio) for s in gt_segments]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def loss_by_feat(self, outs: Tuple[torch.Tensor, torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``outs`` = (start, end) ``[B, T]``, ``masks [B, T]`` (padded snippets ignored) ->
        ``dict(loss_start, loss_end)``."""
        start, end = outs
        gt_segments, _ = unpack_gt_instances(data_samples, start.device, class_agnostic=True)
        start_t, end_t = self.targets(masks, gt_segments)
        valid = masks.to(start.dtype)
        return dict(loss_start=self.loss_tem(start, start_t, valid),
                    loss_end=self.loss_tem(end, end_t, valid))
