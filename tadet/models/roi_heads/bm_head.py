"""BMN's boundary-matching (BM) head: proposal features of every (start, duration) grid cell by
a fixed sampling-weight tensor, then the proposal evaluation module (PEM) -> confidence maps."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS

from .grid_map_head import GridMapHead, build_map_convs


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


@MODELS.register_module()
class BMHead(GridMapHead):
    """BMN's TEM + boundary-matching layer + PEM (targets, losses and candidate decoding:
    :class:`GridMapHead`).

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

    Args:
        in_channels: input channels.
        max_duration: ``D``, longest proposal in snippets.
        tem_head: ``TEMHead`` config.
        feat_channels: proposal-branch channels (BMN 256).
        num_samples / num_samples_per_bin: ``N`` bins per proposal, points per bin (32 / 3).
        prop_boundary_ratio: context added on each side, fraction of the length (0.5).
        bm_channels: 3D conv output channels (512).
        map_channels: 2D conv channels (128).
        num_map_convs: 3x3 2D convs (2).
        reg_high_thr / reg_low_thr: bands of the regression sampling (0.7 / 0.3).
        loss_cls / loss_reg: loss configs.
        init_cfg: mmengine weight initialisation config.
    """

    def __init__(self, in_channels: int, max_duration: int, tem_head: dict,
                 feat_channels: int = 256,
                 num_samples: int = 32, num_samples_per_bin: int = 3,
                 prop_boundary_ratio: float = 0.5, bm_channels: int = 512,
                 map_channels: int = 128, num_map_convs: int = 2,
                 reg_high_thr: float = 0.7, reg_low_thr: float = 0.3,
                 loss_cls: Optional[dict] = None, loss_reg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(tem_head, max_duration, reg_high_thr, reg_low_thr, loss_cls, loss_reg,
                         init_cfg)
        self.num_samples = int(num_samples)
        self.num_samples_per_bin = int(num_samples_per_bin)
        self.prop_boundary_ratio = float(prop_boundary_ratio)
        self.proposal_conv = ConvBlock1d(in_channels, feat_channels, 3)
        self.bm_conv = nn.Conv3d(feat_channels, bm_channels, (self.num_samples, 1, 1),
                                 stride=(self.num_samples, 1, 1))
        self.map_convs = build_map_convs(bm_channels, map_channels, num_map_convs)
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

    def forward_maps(self, feats: torch.Tensor,
                     masks: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feats [B, C, T]`` -> confidence maps ``[B, 2, D, T]`` in (0, 1) (classification,
        regression); ``masks`` is unused (invalid cells are masked in the loss)."""
        x = self.proposal_conv(feats)
        if torch.jit.is_tracing():
            # FLOPs counters trace the model: give them BMN's published dense BM layer (same
            # output; the sparse path does far fewer multiply-adds and is not traceable)
            bm = self.bm_conv(self.bm_feature_map(x)).squeeze(2)
        else:
            bm = self.bm_features(x)
        maps = self.map_convs(torch.relu(bm))
        return maps.sigmoid()
