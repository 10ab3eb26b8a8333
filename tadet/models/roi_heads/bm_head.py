"""BMN's boundary-matching (BM) head: proposal features of every (start, duration) grid cell by
a fixed sampling-weight tensor, then the proposal evaluation module (PEM) -> confidence maps."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.models.task_modules.grid_targets import (grid_tiou_targets, grid_valid_mask,
                                                    tiou_stratified_weights)
from tadet.registry import MODELS


def bm_sampling_matrix(num_snippets: int, max_duration: int, num_samples: int,
                       num_samples_per_bin: int, prop_boundary_ratio: float) -> torch.Tensor:
    """BMN's boundary-matching sampling weights as a sparse ``[D*T, N*T]`` matrix (float64,
    CPU, coalesced): row ``d * T + s`` is cell ``(d, s)``, column ``n * T + i`` the weight of
    snippet ``i`` in its bin ``n``.

    Cell ``(d, s)`` is the segment ``[s, s + d + 1]`` (window snippets); it is extended by
    ``prop_boundary_ratio * length`` on both sides and cut into ``num_samples`` bins of
    ``num_samples_per_bin`` evenly spaced points (bin-centred). Each point is linearly
    interpolated between its two neighbouring snippets (snippet ``i`` sits at coordinate
    ``i + 0.5``); points outside the window contribute 0 (zero padding), as in BMN. A bin's
    feature is the mean of its points. Cells that end after the window have no weights.
    """
    T, D, N, K = int(num_snippets), int(max_duration), int(num_samples), int(num_samples_per_bin)
    if min(T, D, N, K) < 1:
        raise ValueError('bm_sampling_matrix: all sizes must be >= 1')
    start = torch.arange(T, dtype=torch.float64)[None, :, None]           # [1, T, 1]
    length = torch.arange(1, D + 1, dtype=torch.float64)[:, None, None]   # [D, 1, 1]
    k = (torch.arange(N * K, dtype=torch.float64) + 0.5) / (N * K)       # [NK]
    # sample positions in index space (snippet i at index i), [D, T, NK]
    pos = start - prop_boundary_ratio * length + length * (1 + 2 * prop_boundary_ratio) * k - 0.5
    left = pos.floor()
    frac = pos - left
    row = (torch.arange(D)[:, None, None] * T + torch.arange(T)[None, :, None]).expand_as(pos)
    col_bin = (torch.arange(N * K) // K).expand_as(pos) * T
    valid_cell = (start + length <= T).expand_as(pos)
    rows, cols, vals = [], [], []
    for offset, w in ((0, 1 - frac), (1, frac)):
        snippet = left.long() + offset
        ok = valid_cell & (snippet >= 0) & (snippet < T) & (w > 0)
        rows.append(row[ok])
        cols.append(col_bin[ok] + snippet[ok])
        vals.append(w[ok] / K)
    indices = torch.stack([torch.cat(rows), torch.cat(cols)])
    return torch.sparse_coo_tensor(indices, torch.cat(vals), (D * T, N * T),
                                   check_invariants=False).coalesce()


def bm_sampling_weights(num_snippets: int, max_duration: int, num_samples: int,
                        num_samples_per_bin: int, prop_boundary_ratio: float) -> torch.Tensor:
    """Dense view of :func:`bm_sampling_matrix`: ``[D, T, N, T]``, the weight of input snippet
    ``i`` (last axis) in bin ``n`` of cell ``(d, s)`` (for tests and the reference layer)."""
    T, D, N = int(num_snippets), int(max_duration), int(num_samples)
    return bm_sampling_matrix(T, D, N, num_samples_per_bin,
                              prop_boundary_ratio).to_dense().reshape(D, T, N, T)


class GridMapHead(nn.Module):
    """Targets and losses shared by the (start, duration) grid heads (BMN's BM head, G-TAD's
    head). Subclasses set ``max_duration``, ``loss_cls``, ``loss_reg``, ``reg_high_thr`` and
    ``reg_low_thr`` and produce ``[B, 2, D, T]`` (classification, regression) maps."""

    max_duration: int

    def targets(self, masks: torch.Tensor,
                gt_segments: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """(tIoU targets ``[B, D, T]``, valid cells ``[B, D, T]``)."""
        T = masks.shape[1]
        tiou = torch.stack([grid_tiou_targets(g.to(masks.device).float(), T, self.max_duration)
                            for g in gt_segments])
        return tiou, grid_valid_mask(masks, self.max_duration)

    def loss(self, maps: torch.Tensor, masks: torch.Tensor,
             gt_segments: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``maps [B, 2, D, T]``, ``masks [B, T]`` -> ``dict(loss_pem_cls, loss_pem_reg)``:
        balanced BCE (``loss_cls``, its own positive threshold) on the valid cells and
        ``loss_reg`` on BMN's high / medium / low sample of them."""
        tiou, valid = self.targets(masks, gt_segments)
        weights = tiou_stratified_weights(tiou, valid, self.reg_high_thr, self.reg_low_thr)
        return dict(
            loss_pem_cls=self.loss_cls(maps[:, 0], tiou, valid.to(maps.dtype)),
            loss_pem_reg=self.loss_reg(maps[:, 1], tiou, weight=weights,
                                       avg_factor=weights.sum()))


@MODELS.register_module()
class BMHead(GridMapHead):
    """Boundary-matching layer + PEM.

    ``feats [B, C, T]`` -> proposal branch (k3 conv + ReLU to ``feat_channels``) -> BM layer
    (``[B, C', N, D, T]`` by the fixed sampling weights) -> 3D conv over the ``N`` samples
    (kernel ``(N, 1, 1)``, ``bm_channels``) + ReLU -> 1x1 2D conv to ``map_channels`` + ReLU ->
    ``num_map_convs`` x (3x3 conv + ReLU) -> 1x1 conv + sigmoid -> ``[B, 2, D, T]``
    (channel 0: classification confidence, 1: regression confidence).

    The BM layer and the 3D conv are both linear, so they are evaluated together: the 3D conv
    weights are applied to the snippets first (``[B, bm_channels, N, T]``) and the sampling
    weights, kept as a sparse ``[D*T, N*T]`` matrix built once per (T, D, N, K, ratio, device)
    and cached, gather the cells. This equals BMN's dense BM map followed by the 3D conv
    (:meth:`bm_feature_map` is that reference) without materialising ``[B, C', N, D, T]``.

    Targets: max tIoU of each cell with the ground truth. Losses: balanced BCE on
    ``tIoU > pos_iou_thr`` (``loss_cls``, BMN: 0.9) and MSE on the tIoU with BMN's
    high / medium / low sampling (``loss_reg``, weight 10).

    Args:
        in_channels: input channels.
        max_duration: ``D``, longest proposal in snippets.
        feat_channels: proposal-branch channels (BMN 256).
        num_samples / num_samples_per_bin: ``N`` bins per proposal, points per bin (32 / 3).
        prop_boundary_ratio: context added on each side, fraction of the length (0.5).
        bm_channels: 3D conv output channels (512).
        map_channels: 2D conv channels (128).
        num_map_convs: 3x3 2D convs (2).
        reg_high_thr / reg_low_thr: bands of the regression sampling (0.7 / 0.3).
        loss_cls / loss_reg: loss configs.
    """

    def __init__(self, in_channels: int, max_duration: int, feat_channels: int = 256,
                 num_samples: int = 32, num_samples_per_bin: int = 3,
                 prop_boundary_ratio: float = 0.5, bm_channels: int = 512,
                 map_channels: int = 128, num_map_convs: int = 2,
                 reg_high_thr: float = 0.7, reg_low_thr: float = 0.3,
                 loss_cls: Optional[dict] = None, loss_reg: Optional[dict] = None) -> None:
        super().__init__()
        self.max_duration = int(max_duration)
        self.num_samples = int(num_samples)
        self.num_samples_per_bin = int(num_samples_per_bin)
        self.prop_boundary_ratio = float(prop_boundary_ratio)
        self.reg_high_thr = float(reg_high_thr)
        self.reg_low_thr = float(reg_low_thr)
        self.proposal_conv = ConvBlock1d(in_channels, feat_channels, 3)
        self.bm_conv = nn.Conv3d(feat_channels, bm_channels, (self.num_samples, 1, 1),
                                 stride=(self.num_samples, 1, 1))
        layers = [nn.Conv2d(bm_channels, map_channels, 1), nn.ReLU(inplace=True)]
        for _ in range(num_map_convs):
            layers += [nn.Conv2d(map_channels, map_channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(map_channels, 2, 1))
        self.map_convs = nn.Sequential(*layers)
        self.loss_cls = MODELS.build(loss_cls or dict(type='BalancedBCELoss', pos_thr=0.9))
        self.loss_reg = MODELS.build(loss_reg or dict(type='MSELoss', loss_weight=10.0))
        self._cache: Dict[tuple, torch.Tensor] = {}

    # -- boundary-matching layer ----------------------------------------------------------------
    def sampling_matrix(self, num_snippets: int, device: torch.device,
                        dtype: torch.dtype) -> torch.Tensor:
        """Sparse ``[D*T, N*T]`` sampling weights (rows: cells ``(d, s)``, columns: (bin ``n``,
        snippet ``i``)), cached per ``(T, device, dtype)`` (the other keys are fixed here)."""
        key = (int(num_snippets), str(device), dtype)
        if key not in self._cache:
            mat = bm_sampling_matrix(num_snippets, self.max_duration, self.num_samples,
                                     self.num_samples_per_bin, self.prop_boundary_ratio)
            self._cache[key] = mat.to(dtype=dtype, device=device)
        return self._cache[key]

    def bm_feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Reference dense BM layer as published: ``x [B, C, T]`` -> ``[B, C, N, D, T]`` by one
        matmul with the ``[T, N*D*T]`` weights (memory heavy; for tests, inspection and FLOPs
        counting)."""
        B, C, T = x.shape
        N, D = self.num_samples, self.max_duration
        w = bm_sampling_weights(T, D, N, self.num_samples_per_bin, self.prop_boundary_ratio)
        w = w.permute(3, 2, 0, 1).reshape(T, N * D * T).to(x)
        return torch.matmul(x, w).reshape(B, C, N, D, T)

    def bm_features(self, x: torch.Tensor) -> torch.Tensor:
        """BM layer + 3D conv: ``x [B, C', T]`` (proposal branch output) ->
        ``[B, bm_channels, D, T]`` (before the ReLU)."""
        B, _, T = x.shape
        N, D = self.num_samples, self.max_duration
        w3 = self.bm_conv.weight[..., 0, 0]                       # [C3, C', N]
        z = torch.einsum('ocn,bct->ntbo', w3, x).reshape(N * T, -1)  # [N*T, B*C3]
        mat = self.sampling_matrix(T, x.device, x.dtype)
        out = torch.sparse.mm(mat, z).reshape(D * T, B, -1) + self.bm_conv.bias
        # [D*T, B*C3] -> [B, C3, D, T] in channels-last memory (a cheap copy; the 2D convs
        # run at least as fast on it)
        return out.reshape(D, T, B, -1).permute(2, 0, 1, 3).contiguous().permute(0, 3, 1, 2)

    def forward(self, feats: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feats [B, C, T]`` -> confidence maps ``[B, 2, D, T]`` in (0, 1) (classification,
        regression); ``mask`` is unused (invalid cells are masked in the loss)."""
        x = self.proposal_conv(feats)
        if torch.jit.is_tracing():
            # FLOPs counters trace the model: give them BMN's published dense BM layer (same
            # output; the sparse path does far fewer multiply-adds and is not traceable)
            bm = self.bm_conv(self.bm_feature_map(x)).squeeze(2)
        else:
            bm = self.bm_features(x)
        maps = self.map_convs(torch.relu(bm))
        return maps.sigmoid()
