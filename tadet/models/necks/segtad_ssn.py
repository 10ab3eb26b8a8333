"""SegTAD's 1D semantic segmentation network (1D-SSN): encoder to T/8, the PAG module
(atrous convs + dynamic-kNN edge conv + global average path), decoder with a highway from the
second encoder layer, upsampled back to the input length."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.layers import ConvBlock1d, EdgeConv1d
from tadet.registry import MODELS


def _downsample_mask(mask: torch.Tensor, length: int) -> torch.Tensor:
    """``[B, T]`` bool -> ``[B, length]``: a position is real if any input it covers is."""
    m = mask.float().unsqueeze(1)
    return F.adaptive_max_pool1d(m, length).squeeze(1) > 0


@MODELS.register_module()
class SegTADPAG(nn.Module):
    """PAG module on ``[B, C, N]`` (N = T/8): parallel branches, concat, 1x1 conv + ReLU.

    Branches: (AC) one k3 atrous conv + ReLU per dilation; (GC) an edge conv on the dynamic kNN
    graph of the features (similarity = -squared distance, ``max_j ReLU(W [x_i, x_j - x_i])``);
    (GP) masked global average, 1x1 conv + ReLU, broadcast back to every position.

    Args:
        in_channels: input channels.
        out_channels: output channels (after the 1x1 fusion).
        branch_channels: channels of each branch.
        dilations: atrous dilations (paper: 1, 10, 20, 30 at T/8 = 125 positions).
        knn_k: neighbours of the kNN graph (capped at the sequence length).
        use_atrous / use_graph / use_global: branch switches (the paper's "no AC / no GC /
            no GP" ablations); at least one must stay on.
    """

    def __init__(self, in_channels: int, out_channels: int, branch_channels: int,
                 dilations: Sequence[int] = (1, 10, 20, 30), knn_k: int = 4,
                 use_atrous: bool = True, use_graph: bool = True,
                 use_global: bool = True) -> None:
        super().__init__()
        if not (use_atrous or use_graph or use_global):
            raise ValueError('SegTADPAG: at least one of use_atrous / use_graph / use_global')
        if use_atrous and len(dilations) == 0:
            raise ValueError('SegTADPAG: use_atrous needs at least one dilation')
        self.atrous = nn.ModuleList(
            [ConvBlock1d(in_channels, branch_channels, 3, dilation=int(d)) for d in dilations]
        ) if use_atrous else nn.ModuleList()
        self.graph = EdgeConv1d(in_channels, branch_channels, k=knn_k) if use_graph else None
        self.global_proj = (ConvBlock1d(in_channels, branch_channels, 1) if use_global
                            else None)
        num = len(self.atrous) + int(use_graph) + int(use_global)
        self.fuse = ConvBlock1d(num * branch_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x [B, C, N]``, ``mask [B, N]`` -> ``[B, out_channels, N]``."""
        xm = x * mask.unsqueeze(1).to(x.dtype)
        outs = [conv(xm) for conv in self.atrous]
        if self.graph is not None:
            outs.append(self.graph(xm, mask))
        if self.global_proj is not None:
            m = mask.unsqueeze(1).to(x.dtype)
            avg = (xm.sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1))
            outs.append(self.global_proj(avg).expand(-1, -1, x.shape[-1]))
        return self.fuse(torch.cat(outs, dim=1))


@MODELS.register_module()
class SegTADSSN(nn.Module):
    """1D-SSN neck: ``[B, C_in, T] -> [B, channels, T]`` (the per-snippet feature that the
    segmentation head classifies and the PDN pools proposals from).

    Encoder: 3 x (k3 stride-2 conv + ReLU) to ``ceil(T / 8)``. PAG (:class:`SegTADPAG`).
    Decoder: linear upsampling of the PAG output to the second encoder layer's length (T/4),
    concat with the highway (1x1 conv + BN + ReLU of that layer), k3 conv + ReLU, linear
    upsampling to ``T``.

    Args:
        in_channels: input feature channels.
        channels: encoder / PAG / decoder channels.
        branch_channels: channels of each PAG branch (default ``channels``).
        highway_channels: channels of the highway from encoder layer 2.
        dilations / knn_k / use_atrous / use_graph / use_global: see :class:`SegTADPAG`.
        upsample_mode: ``F.interpolate`` mode of both upsamplings (``'linear'`` or
            ``'nearest'``).
    """

    def __init__(self, in_channels: int, channels: int = 256,
                 branch_channels: Optional[int] = None, highway_channels: int = 64,
                 dilations: Sequence[int] = (1, 10, 20, 30), knn_k: int = 4,
                 use_atrous: bool = True, use_graph: bool = True, use_global: bool = True,
                 upsample_mode: str = 'linear') -> None:
        super().__init__()
        if upsample_mode not in ('linear', 'nearest'):
            raise ValueError(f"SegTADSSN: upsample_mode must be 'linear' or 'nearest', "
                             f'got {upsample_mode!r}')
        self.upsample_mode = upsample_mode
        self.channels = int(channels)
        self.encoder = nn.ModuleList([
            ConvBlock1d(in_channels if i == 0 else channels, channels, 3, stride=2)
            for i in range(3)])
        self.pag = SegTADPAG(channels, channels, branch_channels or channels, dilations, knn_k,
                             use_atrous, use_graph, use_global)
        self.highway = ConvBlock1d(channels, highway_channels, 1, norm_cfg=dict(type='BN1d'))
        self.decode = ConvBlock1d(channels + highway_channels, channels, 3)

    def _up(self, x: torch.Tensor, length: int) -> torch.Tensor:
        if self.upsample_mode == 'linear':
            return F.interpolate(x, size=length, mode='linear', align_corners=False)
        return F.interpolate(x, size=length, mode='nearest')

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C_in, T]``, ``mask [B, T]`` (True = real snippet) -> ``[B, channels, T]``."""
        T = x.shape[-1]
        if mask is None:
            mask = x.new_ones((x.shape[0], T), dtype=torch.bool)
        feats = []
        h = x * mask.unsqueeze(1).to(x.dtype)
        for conv in self.encoder:
            h = conv(h)
            feats.append(h)
        low = feats[1]  # T/4
        h = self.pag(h, _downsample_mask(mask, h.shape[-1]))
        h = torch.cat([self._up(h, low.shape[-1]), self.highway(low)], dim=1)
        h = self.decode(h)
        return self._up(h, T)
