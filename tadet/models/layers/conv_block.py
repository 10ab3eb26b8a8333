"""1D conv + optional norm + optional activation, the building block of tadet necks/heads."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from tadet.registry import MODELS


@MODELS.register_module()
class ConvBlock1d(nn.Module):
    """``Conv1d -> norm -> act`` on ``[B, C_in, T] -> [B, C_out, T']``.

    Args:
        in_channels / out_channels / kernel_size / stride / dilation / groups: as ``nn.Conv1d``.
        padding: ``None`` = "same" padding ``dilation * (kernel_size - 1) // 2`` (odd kernels
            keep the length at stride 1 and give ``ceil(T / stride)`` otherwise).
        norm_cfg: mmcv norm config, e.g. ``dict(type='GN', num_groups=32)``; ``None`` = none.
        act_cfg: mmcv activation config; ``None`` = none.
        bias: conv bias; ``'auto'`` = only without norm.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: Optional[int] = None, dilation: int = 1,
                 groups: int = 1, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'), bias='auto') -> None:
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        if bias == 'auto':
            bias = norm_cfg is None
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.norm = None if norm_cfg is None else build_norm_layer(norm_cfg, out_channels)[1]
        self.act = None if act_cfg is None else build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x
