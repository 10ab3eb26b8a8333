"""Edge convolution on a 1D sequence of nodes (DGCNN-style), shared by SegTAD and G-TAD.

``EdgeConv1d`` computes, for every node ``i`` and each of its ``k`` neighbours ``j``, the edge
feature ``h_ij = W [x_i, x_j - x_i]`` (+ optional norm and activation), optionally scales it by an
edge weight, and aggregates over the neighbours (max by default). The graph is either the dynamic
kNN graph of the input features (:func:`knn_indices`, similarity = -squared distance) or a fixed
graph passed in as a neighbour index (e.g. proposals linked by tIoU).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from tadet.registry import MODELS


def knn_indices(x: torch.Tensor, k: int, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Indices of the ``k`` most similar nodes of every node (itself included, similarity 0).

    Similarity is the negative squared Euclidean distance between feature vectors.

    Args:
        x: ``[B, C, N]`` node features.
        k: neighbours per node (``k > N`` is an error).
        mask: ``[B, N]`` bool, True = real node. Masked nodes are never chosen as neighbours;
            a node with fewer than ``k`` real candidates repeats itself in the free slots.

    Returns:
        ``[B, N, k]`` long tensor, most similar first.
    """
    B, _, N = x.shape
    if not 1 <= k <= N:
        raise ValueError(f'knn_indices: k={k} must be in [1, N={N}]')
    xt = x.detach().transpose(1, 2)  # [B, N, C]
    sq = (xt * xt).sum(-1)  # [B, N]
    # -|xi - xj|^2 = 2 xi.xj - |xi|^2 - |xj|^2
    sim = 2 * torch.bmm(xt, xt.transpose(1, 2)) - sq[:, :, None] - sq[:, None, :]
    # the node itself first, whatever rounding says about its distance
    eye = torch.eye(N, dtype=torch.bool, device=x.device)[None]
    sim = sim.masked_fill(eye, float('inf'))
    if mask is not None:
        sim = sim.masked_fill(~mask.bool()[:, None, :], float('-inf'))
    val, idx = sim.topk(k, dim=-1)
    if mask is not None:
        self_idx = torch.arange(N, device=x.device).view(1, N, 1).expand_as(idx)
        idx = torch.where(torch.isneginf(val), self_idx, idx)
    return idx


@MODELS.register_module()
class EdgeConv1d(nn.Module):
    """``[B, C_in, N] -> [B, C_out, N]``: aggregate over neighbours of ``act(norm(W [x_i,
    x_j - x_i]))``.

    ``W [x_i, x_j - x_i] = W_1 x_i + W_2 (x_j - x_i)`` is computed per node and gathered per
    edge, so memory is ``[B, C_out, N, k]`` and never ``[B, 2 C_in, N, k]``.

    Args:
        in_channels / out_channels: feature channels.
        k: neighbours of the dynamic kNN graph (used when no ``neighbours`` are passed).
        norm_cfg: mmcv norm config applied to the edge features (as ``[B, C_out, N * k]``);
            ``None`` = none.
        act_cfg: activation applied to the edge features; ``None`` = none.
        aggregation: ``'max'`` (DGCNN), ``'mean'`` (weighted mean when edge weights are given)
            or ``'sum'``.
        bias: bias of ``W``.
    """

    AGGREGATIONS = ('max', 'mean', 'sum')

    def __init__(self, in_channels: int, out_channels: int, k: int = 4,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = dict(type='ReLU'),
                 aggregation: str = 'max', bias: bool = True) -> None:
        super().__init__()
        if aggregation not in self.AGGREGATIONS:
            raise ValueError(f'EdgeConv1d: aggregation must be one of {self.AGGREGATIONS}, '
                             f'got {aggregation!r}')
        if k < 1:
            raise ValueError(f'EdgeConv1d: k must be >= 1, got {k}')
        self.in_channels, self.out_channels, self.k = int(in_channels), int(out_channels), int(k)
        self.aggregation = aggregation
        self.self_proj = nn.Conv1d(in_channels, out_channels, 1, bias=bias)  # W_1
        self.diff_proj = nn.Conv1d(in_channels, out_channels, 1, bias=False)  # W_2
        self.norm = None if norm_cfg is None else build_norm_layer(norm_cfg, out_channels)[1]
        self.act = None if act_cfg is None else build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                neighbours: Optional[torch.Tensor] = None,
                edge_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Edge convolution.

        Args:
            x: ``[B, C_in, N]``.
            mask: ``[B, N]`` bool, True = real node; masked nodes are never neighbours of the
                dynamic graph and their outputs are zero.
            neighbours: ``[B, N, K]`` fixed graph (any ``K``); entries ``< 0`` mean "no edge"
                and become a self loop. ``None`` = dynamic kNN graph of ``x`` with ``self.k``
                (capped at ``N``).
            edge_weights: ``[B, N, K]`` multipliers of the edge features (before aggregation).

        Returns:
            ``[B, C_out, N]``.
        """
        B, _, N = x.shape
        if neighbours is None:
            neighbours = knn_indices(x, min(self.k, N), mask)
        if neighbours.dim() != 3 or neighbours.shape[:2] != (B, N):
            raise ValueError(f'EdgeConv1d: neighbours must be [B={B}, N={N}, K], '
                             f'got {tuple(neighbours.shape)}')
        K = neighbours.shape[-1]
        self_idx = torch.arange(N, device=x.device).view(1, N, 1).expand(B, N, K)
        nb = torch.where(neighbours < 0, self_idx, neighbours.long())
        a = self.self_proj(x) - self.diff_proj(x)  # (W_1 - W_2) x_i  [B, Co, N]
        d = self.diff_proj(x)  # W_2 x_j  [B, Co, N]
        gathered = torch.gather(d, 2, nb.reshape(B, 1, N * K).expand(B, self.out_channels,
                                                                        N * K))
        h = a.unsqueeze(-1) + gathered.view(B, self.out_channels, N, K)  # [B, Co, N, K]
        if self.norm is not None:
            h = self.norm(h.reshape(B, self.out_channels, N * K)).view_as(h)
        if self.act is not None:
            h = self.act(h)
        if edge_weights is not None:
            if edge_weights.shape != neighbours.shape:
                raise ValueError(f'EdgeConv1d: edge_weights {tuple(edge_weights.shape)} must '
                                 f'match neighbours {tuple(neighbours.shape)}')
            h = h * edge_weights.to(h.dtype).unsqueeze(1)
        if self.aggregation == 'max':
            out = h.max(dim=-1).values
        elif self.aggregation == 'sum':
            out = h.sum(dim=-1)
        elif edge_weights is not None:
            denom = edge_weights.to(h.dtype).sum(-1).clamp(min=1e-6).unsqueeze(1)
            out = h.sum(dim=-1) / denom
        else:
            out = h.mean(dim=-1)
        if mask is not None:
            out = out * mask.to(out.dtype).unsqueeze(1)
        return out
