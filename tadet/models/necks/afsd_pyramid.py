"""AFSD's temporal feature pyramid and frame-level feature branch."""
from typing import List, Optional, Sequence, Union

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

    Two taps (``in_channels`` a pair, end to end as AFSD's ``CoarsePyramid``): the input is a
    pair ``([B, C_0, T_0], [B, C_1, T_1])`` of backbone stages (AFSD: I3D Mixed_4f at T/4 and
    Mixed_5c at T/8); level 1 = 1x1 conv on the second tap, level 0 = 1x1 conv on the first
    plus level 1 upsampled (nearest) to ``T_0``, levels ``i > 1`` = k3 stride-2 convs on level
    ``i - 1``.

    Args:
        in_channels: input channels (2048 for I3D RGB+flow, or the backbone's output channels),
            or one per tap (two taps).
        channels: channels of every level (512).
        num_levels: number of levels (6).
        norm_cfg: norm of every conv (``dict(type='GN', num_groups=32)``).
    """

    def __init__(self, in_channels: Union[int, Sequence[int]] = 2048, channels: int = 512,
                 num_levels: int = 6,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32)) -> None:
        super().__init__()
        taps = [in_channels] if isinstance(in_channels, int) else [int(c) for c in in_channels]
        if len(taps) not in (1, 2):
            raise ValueError(f'AFSDPyramidNeck: in_channels must be an int or a pair of '
                             f'taps, got {in_channels!r}')
        if num_levels < len(taps):
            raise ValueError(f'AFSDPyramidNeck: num_levels must be >= {len(taps)}')
        norm_cfg = _check_norm(norm_cfg, 'AFSDPyramidNeck')
        self.in_channels = in_channels if isinstance(in_channels, int) else tuple(taps)
        self.num_inputs = len(taps)
        self.channels = int(channels)
        self.num_levels = int(num_levels)
        self.levels = nn.ModuleList()
        for i in range(num_levels):
            if i < len(taps):
                self.levels.append(ConvBlock1d(taps[i], channels, 1, norm_cfg=norm_cfg))
            else:
                self.levels.append(ConvBlock1d(channels, channels, 3, stride=2,
                                               norm_cfg=norm_cfg))

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]) -> List[torch.Tensor]:
        """``[B, C_in, T]`` (or the pair of taps) -> ``num_levels`` maps ``[B, channels,
        T_l]``."""
        if self.num_inputs == 1:
            if not isinstance(x, torch.Tensor):
                raise ValueError('AFSDPyramidNeck: one input tensor expected')
            feats = []
            for level in self.levels:
                x = level(x)
                feats.append(x)
            return feats
        if isinstance(x, torch.Tensor) or len(x) != 2:
            raise ValueError('AFSDPyramidNeck: built for two taps, give a pair of tensors')
        top = self.levels[1](x[1])
        feats = [self.levels[0](x[0]) + F.interpolate(top, size=x[0].shape[-1], mode='nearest'),
                 top]
        for level in self.levels[2:]:
            feats.append(level(feats[-1]))
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
