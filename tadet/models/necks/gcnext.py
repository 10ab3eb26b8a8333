"""G-TAD's GCNeXt block (Xu et al., CVPR 2020) and the encoder built from it.

A GCNeXt block adds two ResNeXt-style bottleneck branches to the identity: a temporal branch
over the fixed temporal graph (neighbouring snippets: grouped k3 conv) and a semantic branch over
the dynamic kNN graph of the snippet features (edge convolution).
"""
from typing import Optional

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d, EdgeConv1d
from tadet.registry import MODELS


@MODELS.register_module()
class GCNeXt(nn.Module):
    """``relu(x + temporal(x) + semantic(x))``, ``[B, C, T] -> [B, C, T]``.

    * temporal branch: 1x1 conv to ``width = groups * width_per_group`` + ReLU, k3 conv with
      ``groups`` (cardinality) + ReLU, 1x1 conv back to ``C``;
    * semantic branch: edge convolution ``max_j relu(W [x_i, x_j - x_i])`` over the ``k``
      nearest snippets in feature space (``EdgeConv1d`` / ``knn_indices``, the node itself
      included) to ``width``, a grouped 1x1 conv + ReLU, 1x1 conv back to ``C``.

    G-TAD applies all three layers of the semantic branch to every edge and takes the max at the
    end; here the max follows the first (edge) layer and the other two run once per node, which
    is ``k`` times cheaper and keeps the bottleneck's cardinality.

    Args:
        channels: ``C`` (input = output).
        k: neighbours of the semantic graph (G-TAD: 3).
        groups: cardinality (G-TAD: 32).
        width_per_group: channels per group (G-TAD: 4, so width 128).
    """

    def __init__(self, channels: int, k: int = 3, groups: int = 32,
                 width_per_group: int = 4) -> None:
        super().__init__()
        width = int(groups) * int(width_per_group)
        self.k = int(k)
        self.temporal = nn.Sequential(
            ConvBlock1d(channels, width, 1),
            ConvBlock1d(width, width, 3, groups=groups),
            nn.Conv1d(width, channels, 1))
        self.edge_conv = EdgeConv1d(channels, width, k=self.k)
        self.semantic = nn.Sequential(
            ConvBlock1d(width, width, 1, groups=groups),
            nn.Conv1d(width, channels, 1))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C, T]``, ``mask [B, T]`` (True = real snippet; padded snippets are never
        semantic neighbours) -> ``[B, C, T]``."""
        semantic = self.semantic(self.edge_conv(x, mask))
        return torch.relu(x + self.temporal(x) + semantic)


@MODELS.register_module()
class GCNeXtEncoder(nn.Module):
    """G-TAD's first backbone part: k3 grouped conv + ReLU to ``feat_channels``, then
    ``num_blocks`` GCNeXt blocks; ``[B, C_in, T] -> [B, C, T]``.

    Args:
        in_channels: input feature channels (divisible by ``in_groups``).
        feat_channels: ``C`` (G-TAD: 256).
        num_blocks: GCNeXt blocks (G-TAD: 1 here, one more in the detection head).
        in_groups: groups of the input conv (G-TAD: 4).
        k / groups / width_per_group: see :class:`GCNeXt`.
    """

    def __init__(self, in_channels: int, feat_channels: int = 256, num_blocks: int = 1,
                 in_groups: int = 4, k: int = 3, groups: int = 32,
                 width_per_group: int = 4) -> None:
        super().__init__()
        if in_channels % in_groups or feat_channels % in_groups:
            raise ValueError(f'GCNeXtEncoder: in_channels={in_channels} and feat_channels='
                             f'{feat_channels} must be divisible by in_groups={in_groups}')
        self.in_proj = ConvBlock1d(in_channels, feat_channels, 3, groups=in_groups)
        self.blocks = nn.ModuleList(
            GCNeXt(feat_channels, k, groups, width_per_group) for _ in range(num_blocks))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C_in, T]``, optional ``mask [B, T]`` -> ``[B, feat_channels, T]``."""
        x = self.in_proj(x)
        for block in self.blocks:
            x = block(x, mask)
        return x
