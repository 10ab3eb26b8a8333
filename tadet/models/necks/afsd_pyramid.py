"""AFSD's temporal feature pyramid and frame-level feature branch."""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS


def _check_norm(norm_cfg: Optional[dict], name: str) -> Optional[dict]:
    if norm_cfg is None:
        return None
    if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
        raise ValueError(f'{name}: norm_cfg must be None or a dict with "type", got {norm_cfg!r}')
    return dict(norm_cfg)


@MODELS.register_module()
class AFSDPyramidNeck(nn.Module):
    """``[B, C_in, T]`` -> ``num_levels`` maps of ``channels``; level 0 = 1x1 conv (stride 1) on
    the input, level ``i > 0`` = k3 stride-2 conv on level ``i - 1``; every conv + norm + ReLU.
    Level lengths ``T, ceil(T/2), ...`` (pad ``T`` to a multiple of ``2 ** (num_levels - 1)``).

    Args:
        in_channels: input channels (2048 for I3D RGB+flow, or the backbone's output channels).
        channels: channels of every level (512).
        num_levels: number of levels (6).
        norm_cfg: norm of every conv (``dict(type='GN', num_groups=32)``).
    """

    def __init__(self, in_channels: int = 2048, channels: int = 512, num_levels: int = 6,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32)) -> None:
        super().__init__()
        if num_levels < 1:
            raise ValueError('AFSDPyramidNeck: num_levels must be >= 1')
        norm_cfg = _check_norm(norm_cfg, 'AFSDPyramidNeck')
        self.in_channels = int(in_channels)
        self.channels = int(channels)
        self.num_levels = int(num_levels)
        self.levels = nn.ModuleList()
        for i in range(num_levels):
            if i == 0:
                self.levels.append(ConvBlock1d(in_channels, channels, 1, norm_cfg=norm_cfg))
            else:
                self.levels.append(ConvBlock1d(channels, channels, 3, stride=2,
                                               norm_cfg=norm_cfg))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        feats = []
        for level in self.levels:
            x = level(x)
            feats.append(x)
        return feats


@MODELS.register_module()
class AFSDFrameLevelBranch(nn.Module):
    """Frame-level feature: pyramid level 0 upsampled (linear) to the window length, then
    k3, k3, k1 convs (+ norm + ReLU). The output is non-negative; its first half of channels is
    the start feature and the second half the end feature.

    Args:
        in_channels: level-0 channels; out_channels: output channels (even).
    """

    def __init__(self, in_channels: int = 512, out_channels: int = 512,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32)) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError('AFSDFrameLevelBranch: out_channels must be even (start/end halves)')
        norm_cfg = _check_norm(norm_cfg, 'AFSDFrameLevelBranch')
        self.out_channels = int(out_channels)
        self.convs = nn.Sequential(
            ConvBlock1d(in_channels, out_channels, 3, norm_cfg=norm_cfg),
            ConvBlock1d(out_channels, out_channels, 3, norm_cfg=norm_cfg),
            ConvBlock1d(out_channels, out_channels, 1, norm_cfg=norm_cfg))

    def forward(self, level0: torch.Tensor, length: int) -> torch.Tensor:
        if level0.shape[-1] != length:
            level0 = F.interpolate(level0, size=int(length), mode='linear', align_corners=False)
        return self.convs(level0)
