"""G-TAD's detection head: more GCNeXt context, sub-graph-of-interest alignment (SGAlign) of every
(start, duration) grid cell, and a 2D conv stack -> (classification, regression) maps."""
from typing import List, Optional, Union

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.models.layers.proposal_align import SGAlign1d
from tadet.models.necks.gcnext import GCNeXt
from tadet.models.task_modules.grid_targets import grid_segments
from tadet.registry import MODELS

from .grid_map_head import GridMapHead, build_map_convs


@MODELS.register_module()
class GTADHead(GridMapHead):
    """G-TAD's TEM + detection head. ``feats [B, C, T]`` -> ``num_blocks`` GCNeXt blocks ->
    1x1 conv to ``align_channels`` + ReLU -> SGAlign of every grid cell -> flattened, linear to
    ``mid_channels`` + ReLU (G-TAD's first 1x1 conv) -> 1x1 conv to ``map_channels`` + ReLU ->
    ``num_map_convs`` x (3x3 conv + ReLU) -> 1x1 conv + sigmoid -> ``[B, 2, D, T]``
    (classification, regression confidence). Cells ending after the window are zero features.

    SGAlign (default, the authors' ``goi_style=1``: ``SGAlign1d``): over each cell extended by
    half its length on both sides, RoIAlign bins of the features and bins of their semantic
    context, each snippet's features averaged over its ``k`` nearest snippets in feature space;
    the kNN graph is that of the last GCNeXt block's output (before the 1x1 reduction), padded
    snippets are never neighbours. Plain option: ``align=dict(type='ProposalAlign1d', ...)``
    (inner bins over the cell + context bins over the extended cell, features only).

    Targets, losses and candidate decoding are BMN's (:class:`GridMapHead`): balanced BCE on
    tIoU > 0.9 and MSE on the tIoU with high / medium / low sampling.

    Args:
        in_channels: input channels.
        max_duration: ``D``.
        tem_head: ``TEMHead`` config (G-TAD's start / end regularisation branches).
        num_blocks: GCNeXt blocks before the alignment (G-TAD: 1).
        k / groups / width_per_group: GCNeXt settings.
        align_channels: channels entering the alignment.
        align: ``SGAlign1d`` config (temporal bins, semantic bins, context ratio, semantic
            ``k``; G-TAD: 16, 16, 0.5, 3) or ``ProposalAlign1d`` config (plain features).
        mid_channels / map_channels / num_map_convs: 2D stack (G-TAD: 512 / 128 / 2).
        reg_high_thr / reg_low_thr: bands of the regression sampling.
        loss_cls / loss_reg: loss configs.
        init_cfg: mmengine weight initialisation config.
    """

    def __init__(self, in_channels: int, max_duration: int, tem_head: dict,
                 num_blocks: int = 1, k: int = 3,
                 groups: int = 32, width_per_group: int = 4, align_channels: int = 256,
                 align: Optional[dict] = None, mid_channels: int = 512,
                 map_channels: int = 128, num_map_convs: int = 2,
                 reg_high_thr: float = 0.7, reg_low_thr: float = 0.3,
                 loss_cls: Optional[dict] = None, loss_reg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(tem_head, max_duration, reg_high_thr, reg_low_thr, loss_cls, loss_reg,
                         init_cfg)
        self.blocks = nn.ModuleList(
            GCNeXt(in_channels, k, groups, width_per_group) for _ in range(num_blocks))
        self.reduce = ConvBlock1d(in_channels, align_channels, 1)
        self.align = MODELS.build(align or dict(type='SGAlign1d', temporal_bins=16,
                                                semantic_bins=16, context_ratio=0.5, k=3))
        self.cell_fc = nn.Linear(align_channels * self.align.num_bins, mid_channels)
        self.map_convs = build_map_convs(mid_channels, map_channels, num_map_convs)

    def cell_features(self, x: torch.Tensor, graph_x: Optional[torch.Tensor] = None,
                      masks: Optional[torch.Tensor] = None) -> torch.Tensor:
        """SGAlign of all cells: ``x [B, C', T]`` -> ``[B, mid_channels, D, T]`` (after ReLU;
        zeros at cells that end after the window). ``graph_x [B, C'', T]`` (default ``x``) and
        ``masks [B, T]`` define the semantic kNN graph of ``SGAlign1d``."""
        B, _, T = x.shape
        D = self.max_duration
        segs, valid = grid_segments(T, D, x.device)
        cell_idx = torch.nonzero(valid.reshape(-1)).squeeze(1)        # [Nc]
        cells = segs.reshape(-1, 2)[cell_idx].to(x.dtype)
        batch_idx = torch.arange(B, device=x.device, dtype=x.dtype).repeat_interleave(
            cells.shape[0])
        rois = torch.cat([batch_idx[:, None], cells.repeat(B, 1)], dim=1)
        if isinstance(self.align, SGAlign1d):
            # the semantic context once per window, shared by all its cells
            semantic = self.align.semantic_features(x, graph_x, masks)
            feats = self.align(x, rois, semantic=semantic)
        else:
            feats = self.align(x, rois)
        feats = torch.relu(self.cell_fc(feats.flatten(1))).reshape(B, cell_idx.numel(), -1)
        out = feats.new_zeros((B, D * T, feats.shape[-1]))
        out[:, cell_idx] = feats
        # [B, D*T, M] viewed as [B, M, D, T] in channels-last memory
        return out.reshape(B, D, T, -1).permute(0, 3, 1, 2)

    def forward_maps(self, feats: torch.Tensor,
                     masks: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feats [B, C, T]``, optional ``masks [B, T]`` -> ``[B, 2, D, T]`` in (0, 1)."""
        x = feats
        for block in self.blocks:
            x = block(x, masks)
        return self.map_convs(self.cell_features(self.reduce(x), x, masks)).sigmoid()
