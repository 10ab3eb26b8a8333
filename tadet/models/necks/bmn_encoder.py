"""BMN's base module: the shared temporal encoder under the TEM and the boundary-matching head."""
from typing import Optional

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS


@MODELS.register_module()
class BMNEncoder(nn.Module):
    """``num_convs`` x (k``kernel_size`` grouped conv + ReLU), ``[B, C_in, T] -> [B, C, T]``.

    BMN (Lin et al., ICCV 2019) uses two k3 convs with 256 channels and 4 groups on top of the
    snippet features; the temporal length is kept (same padding).

    Args:
        in_channels: input feature channels (must be divisible by ``groups``).
        feat_channels: output channels (256 in BMN; divisible by ``groups``).
        num_convs: conv layers (2).
        kernel_size: temporal kernel (3).
        groups: conv groups (4): BMN's grouping keeps the two-stream halves of RGB+flow
            features apart in the first layer.
    """

    def __init__(self, in_channels: int, feat_channels: int = 256, num_convs: int = 2,
                 kernel_size: int = 3, groups: int = 4) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError('BMNEncoder: num_convs must be >= 1')
        for name, c in (('in_channels', in_channels), ('feat_channels', feat_channels)):
            if c % groups:
                raise ValueError(f'BMNEncoder: {name}={c} is not divisible by groups={groups}')
        self.in_channels = int(in_channels)
        self.feat_channels = int(feat_channels)
        self.convs = nn.Sequential(*[
            ConvBlock1d(in_channels if i == 0 else feat_channels, feat_channels, kernel_size,
                        groups=groups) for i in range(num_convs)])

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C_in, T]`` -> ``[B, feat_channels, T]`` (``mask [B, T]`` is accepted for a
        common encoder interface and unused: padded snippets are zeros, as conv padding)."""
        return self.convs(x)
