"""A2Net's base layers and temporal feature pyramid."""
from typing import List, Sequence

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS


@MODELS.register_module()
class A2NetPyramidNeck(nn.Module):
    """Base convs + a plain (no norm) strided conv pyramid.

    ``[B, C_in, L]`` -> 1x1 conv to ``base_channels`` + ReLU -> k``base_kernel`` conv + ReLU ->
    max-pool /2 -> level 0 (k3 conv, ``strides[0]``) -> level i (k3 conv, ``strides[i]``) ...
    With the paper's defaults and ``L = 128``: lengths 64, 32, 16, 8, 4, 2 and channels
    512, 1024, 1024, 2048, 2048, 4096.

    Args:
        in_channels: input feature channels (2048 for I3D RGB+flow).
        base_channels: channels of the two base convs.
        base_kernel: kernel of the second base conv (9).
        base_pool: temporal max-pool factor after the base (2; 1 = none).
        channels: output channels per pyramid level.
        strides: stride of each level's k3 conv (first 1, then 2).
        norm_cfg: optional norm for every conv (the paper has none).
    """

    def __init__(self, in_channels: int = 2048, base_channels: int = 512, base_kernel: int = 9,
                 base_pool: int = 2,
                 channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 strides: Sequence[int] = (1, 2, 2, 2, 2, 2), norm_cfg=None) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(f'A2NetPyramidNeck: {len(channels)} channels vs {len(strides)} '
                             f'strides')
        self.channels = tuple(int(c) for c in channels)
        self.strides = tuple(int(s) for s in strides)
        self.base_pool = int(base_pool)
        self.base = nn.Sequential(
            ConvBlock1d(in_channels, base_channels, 1, norm_cfg=norm_cfg),
            ConvBlock1d(base_channels, base_channels, base_kernel, norm_cfg=norm_cfg))
        self.pool = nn.MaxPool1d(self.base_pool, self.base_pool) if self.base_pool > 1 else \
            nn.Identity()
        levels, prev = [], base_channels
        for c, s in zip(self.channels, self.strides):
            levels.append(ConvBlock1d(prev, c, 3, stride=s, norm_cfg=norm_cfg))
            prev = c
        self.levels = nn.ModuleList(levels)

    @property
    def total_stride(self) -> int:
        """Input snippets per position of the last level (inputs must be a multiple)."""
        out = self.base_pool
        for s in self.strides:
            out *= s
        return out

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """``x [B, C_in, L]`` -> per level ``[B, channels[i], L / (base_pool * prod strides)]``."""
        if x.shape[-1] % self.total_stride:
            raise ValueError(f'A2NetPyramidNeck: input length {x.shape[-1]} is not a multiple of '
                             f'{self.total_stride}; set the data preprocessor pad_to_multiple / '
                             f'the window size accordingly')
        x = self.pool(self.base(x))
        outs = []
        for level in self.levels:
            x = level(x)
            outs.append(x)
        return outs
