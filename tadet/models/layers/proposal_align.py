"""Proposal features on a temporal feature map, built on :func:`tadet.ops.roi_align_1d`:
``ProposalAlign1d`` (inner bins + context bins; SegTAD's proposal features, RCL's, G-TAD's plain
option) and ``SGAlign1d`` (G-TAD's sub-graph-of-interest alignment with its semantic context)."""
from typing import Optional

import torch
import torch.nn as nn

from tadet.ops import roi_align_1d
from tadet.registry import MODELS

from .edge_conv import knn_indices


def extend_rois(rois: torch.Tensor, ratio: float) -> torch.Tensor:
    """``rois [N, 3]`` (batch index, start, end) -> the same with each segment extended by
    ``ratio * (end - start)`` on both sides."""
    ext = (rois[:, 2] - rois[:, 1]) * ratio
    return torch.stack([rois[:, 0], rois[:, 1] - ext, rois[:, 2] + ext], dim=1)


def check_rois(name: str, proposals: torch.Tensor) -> None:
    """Raise unless ``proposals`` is ``[N, 3]``."""
    if proposals.dim() != 2 or proposals.shape[-1] != 3:
        raise ValueError(f'{name}: proposals must be [N, 3], got {tuple(proposals.shape)}')


def semantic_context(x: torch.Tensor, k: int, graph_x: Optional[torch.Tensor] = None,
                     mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """G-TAD's semantically aggregated features: every snippet's ``x`` averaged over its ``k``
    nearest snippets in feature space (itself included, :func:`knn_indices` of ``graph_x``,
    default ``x``; padded snippets are never neighbours).

    Args:
        x: ``[B, C, T]`` features to average.
        k: neighbours (clipped to ``T``).
        graph_x: ``[B, C', T]`` features that define the kNN graph (default ``x``).
        mask: ``[B, T]`` bool, True = real snippet.

    Returns:
        ``[B, C, T]``.
    """
    B, _, T = x.shape
    idx = knn_indices(x if graph_x is None else graph_x, min(int(k), T), mask)  # [B, T, k]
    xt = x.transpose(1, 2)                                                        # [B, T, C]
    batch = torch.arange(B, device=x.device).view(B, 1, 1)
    return xt[batch, idx].mean(2).transpose(1, 2)


@MODELS.register_module()
class ProposalAlign1d(nn.Module):
    """``x [B, C, T]``, proposals ``[N, 3]`` (batch index, start, end) -> ``[N, C, inner_bins +
    context_bins]``.

    The first ``inner_bins`` columns are the 1D RoIAlign of ``[start, end]``; the last
    ``context_bins`` are the RoIAlign of the segment extended by ``context_ratio * (end - start)``
    on both sides (``context_bins=0``: no context part).

    Args:
        inner_bins: bins over the proposal itself (>= 1).
        context_bins: bins over the extended proposal (>= 0).
        context_ratio: extension on each side, as a fraction of the proposal length.
        sampling_ratio: samples per bin (0 = adaptive ``ceil(len / bins)``), see the op.
        aligned: ``True`` (default) = feature ``i`` sits at snippet centre ``i + 0.5``, the
            geometry of ``tadet.structures``; ``False`` = at ``i``.
        impl: op implementation (``'auto'``, ``'cpu'`` compiled, ``'reference'``, ...).
    """

    def __init__(self, inner_bins: int = 16, context_bins: int = 8, context_ratio: float = 0.5,
                 sampling_ratio: int = 0, aligned: bool = True, impl: str = 'auto') -> None:
        super().__init__()
        if inner_bins < 1 or context_bins < 0:
            raise ValueError(f'ProposalAlign1d: need inner_bins >= 1 and context_bins >= 0, '
                             f'got {inner_bins}, {context_bins}')
        if context_ratio < 0:
            raise ValueError(f'ProposalAlign1d: context_ratio must be >= 0, got {context_ratio}')
        self.inner_bins, self.context_bins = int(inner_bins), int(context_bins)
        self.context_ratio = float(context_ratio)
        self.sampling_ratio, self.aligned, self.impl = int(sampling_ratio), bool(aligned), impl

    @property
    def num_bins(self) -> int:
        return self.inner_bins + self.context_bins

    def forward(self, x: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        """``x [B, C, T]``, ``proposals [N, 3]`` -> ``[N, C, inner_bins + context_bins]``."""
        check_rois('ProposalAlign1d', proposals)
        rois = proposals.to(x.dtype)
        inner = roi_align_1d(x, rois, self.inner_bins, self.sampling_ratio, self.aligned,
                             impl=self.impl)
        if self.context_bins == 0:
            return inner
        context = roi_align_1d(x, extend_rois(rois, self.context_ratio), self.context_bins,
                               self.sampling_ratio, self.aligned, impl=self.impl)
        return torch.cat([inner, context], dim=-1)


@MODELS.register_module()
class SGAlign1d(nn.Module):
    """G-TAD's sub-graph-of-interest alignment (SGAlign, authors' default ``goi_style=1``):
    ``x [B, C, T]``, proposals ``[N, 3]`` (batch index, start, end) -> ``[N, C, temporal_bins
    + semantic_bins]``.

    Both parts are 1D RoIAlign over the same sampling region, the proposal extended by
    ``context_ratio * (end - start)`` on both sides: the first ``temporal_bins`` columns align
    the features ``x`` themselves, the last ``semantic_bins`` align the semantic context
    (:func:`semantic_context`: every snippet's ``x`` averaged over its ``k`` nearest snippets in
    feature space), so a cell sees the snippets semantically linked to the ones it covers.
    ``semantic_bins=0`` aligns the features only (the authors' ``goi_style=0``).

    Args:
        temporal_bins: bins of the features (>= 1; G-TAD: 16).
        semantic_bins: bins of the semantic context (>= 0; G-TAD: 16).
        context_ratio: extension on each side, as a fraction of the proposal length (G-TAD:
            0.5).
        k: neighbours of the semantic graph, the snippet itself included (G-TAD: 3).
        sampling_ratio / aligned / impl: see :class:`ProposalAlign1d`.
    """

    def __init__(self, temporal_bins: int = 16, semantic_bins: int = 16,
                 context_ratio: float = 0.5, k: int = 3, sampling_ratio: int = 0,
                 aligned: bool = True, impl: str = 'auto') -> None:
        super().__init__()
        if temporal_bins < 1 or semantic_bins < 0 or k < 1:
            raise ValueError(f'SGAlign1d: need temporal_bins >= 1, semantic_bins >= 0 and '
                             f'k >= 1, got {temporal_bins}, {semantic_bins}, {k}')
        if context_ratio < 0:
            raise ValueError(f'SGAlign1d: context_ratio must be >= 0, got {context_ratio}')
        self.temporal_bins, self.semantic_bins = int(temporal_bins), int(semantic_bins)
        self.context_ratio, self.k = float(context_ratio), int(k)
        self.sampling_ratio, self.aligned, self.impl = int(sampling_ratio), bool(aligned), impl

    @property
    def num_bins(self) -> int:
        return self.temporal_bins + self.semantic_bins

    def semantic_features(self, x: torch.Tensor, graph_x: Optional[torch.Tensor] = None,
                          mask: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        """:func:`semantic_context` ``[B, C, T]`` of ``x`` (``None`` when
        ``semantic_bins == 0``); ``graph_x [B, C', T]`` defines the kNN graph (default ``x``),
        ``mask [B, T]`` the real snippets."""
        if self.semantic_bins == 0:
            return None
        return semantic_context(x, self.k, graph_x, mask)

    def forward(self, x: torch.Tensor, proposals: torch.Tensor,
                semantic: Optional[torch.Tensor] = None, graph_x: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x [B, C, T]``, ``proposals [N, 3]`` -> ``[N, C, temporal_bins + semantic_bins]``.
        ``semantic [B, C, T]``: precomputed :meth:`semantic_features` (computed here from
        ``x``, ``graph_x`` and ``mask`` when ``None``)."""
        check_rois('SGAlign1d', proposals)
        rois = extend_rois(proposals.to(x.dtype), self.context_ratio)
        temporal = roi_align_1d(x, rois, self.temporal_bins, self.sampling_ratio, self.aligned,
                                impl=self.impl)
        if self.semantic_bins == 0:
            return temporal
        if semantic is None:
            semantic = self.semantic_features(x, graph_x, mask)
        sem = roi_align_1d(semantic, rois, self.semantic_bins, self.sampling_ratio,
                           self.aligned, impl=self.impl)
        return torch.cat([temporal, sem], dim=-1)
