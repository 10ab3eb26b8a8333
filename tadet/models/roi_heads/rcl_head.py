"""RCL's head: continuous anchoring representation (CAR) + recurrent refinement.

A query is any continuous segment ``(xs, xe)`` of a window (snippet coordinates). Its
representation is ``ProposalAlign1d`` of the (1x1-reduced) encoder features: 1D RoIAlign bins
over the query itself plus bins over the query extended by ``context_ratio`` of its length on
both sides (element ``t`` at the snippet centre ``t + 0.5``), flattened, concatenated with a
Fourier encoding of ``(xs / W, xe / W, (xe - xs) / W)`` (``W`` the window length).

Stage 0 (CAR): MLP -> hidden ``h_0`` -> (cls logit, reg logit, dxs, dxe) of query ``q_0``.
Stage ``m = 1..M`` (refine, weights shared over iterations): ``q_m = decode(q_{m-1},
dx_{m-1})`` (detached, clamped to the window), its representation -> linear + ReLU -> ``e_m``,
``h_m = GRUCell(e_m, h_{m-1})`` -> (cls, reg, dxs, dxe) of ``q_m``. Every stage's confidences
describe its input query ``q_m`` and its offsets refine it; the output segment is
``decode(q_M, dx_M)`` scored by stage ``M``. ``M = 0`` is CAR only.

Targets of a stage come from its input queries: tIoU with the best ground truth of the window
(cls: balanced BCE on tIoU > ``pos_thr`` of ``loss_cls``; reg: MSE to the tIoU), offsets
(L1, ``LengthOffsetSegmentCoder``) for queries with tIoU >= ``offset_iou_thr``. Stage ``m``'s
losses are weighted by ``iter_loss_decay ** (M - m)`` (the last stage weighs 1, as in RAFT's
sequence loss).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.layers import ConvBlock1d
from tadet.models.post_processing.grid_candidates import boundary_peak_mask
from tadet.models.task_modules.rcl_query_samplers import clamp_queries, grid_queries
from tadet.models.task_modules.tiou import segment_tiou
from tadet.registry import MODELS, TASK_UTILS

_DEFAULT_SAMPLERS = (dict(type='GridQuerySampler'), dict(type='RandomQuerySampler'),
                     dict(type='ScaleInvariantQuerySampler'))


def fourier_encode(u: torch.Tensor, num_freqs: int) -> torch.Tensor:
    """``u [Q, K]`` -> ``[Q, K * (1 + 2 num_freqs)]``: ``u`` and ``sin / cos(2^k pi u)``."""
    parts = [u]
    for k in range(num_freqs):
        parts += [torch.sin((2.0 ** k) * math.pi * u), torch.cos((2.0 ** k) * math.pi * u)]
    return torch.cat(parts, dim=1)


class _QueryEmbed(nn.Module):
    """``ReLU(W_f pooled + W_c coords + b)``: a linear layer on the concatenated query
    representation, without materialising the concatenation (large at inference)."""

    def __init__(self, feat_dim: int, coord_dim: int, out_dim: int) -> None:
        super().__init__()
        self.feat = nn.Linear(feat_dim, out_dim)
        self.coord = nn.Linear(coord_dim, out_dim, bias=False)

    def forward(self, rep: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return F.relu(self.feat(rep[0]) + self.coord(rep[1]))


@MODELS.register_module()
class RCLHead(nn.Module):
    """Continuous anchoring representation + recurrent refine module (see module docstring).

    Args:
        in_channels: channels of the encoder features ``[B, C, T]``.
        roi_channels: 1x1 conv reduction applied before RoIAlign (keeps the flattened query
            feature ``roi_channels * bins`` small).
        proposal_align: ``ProposalAlign1d`` config: inner bins, context bins, context ratio
            (BMN's boundary-matching layer extends by 0.5 of the length), a fixed
            ``sampling_ratio`` so the cost does not grow with the query length.
        hidden_channels: CAR hidden width = GRU state size.
        coord_num_freqs: Fourier frequencies of the coordinate encoding (0: raw coordinates).
        num_iters: refine iterations ``M`` (0 = CAR only).
        iter_loss_decay: ``alpha``; stage ``m`` of ``0..M`` weighs ``alpha ** (M - m)``.
        query_samplers: training query samplers (``TASK_UTILS``), their outputs concatenated.
        offset_iou_thr: queries with tIoU >= this get an offset target.
        min_length: shortest query (snippets) after each update.
        segment_coder: ``LengthOffsetSegmentCoder`` config.
        loss_cls / loss_reg / loss_offset: ``BalancedBCELoss`` on logits (positive: tIoU >
            ``pos_thr``), ``MSELoss(use_sigmoid=True)`` to the tIoU, ``L1Loss`` on offsets.
        test_max_duration: largest grid query duration at inference (``None``: the window).
        test_refine_topk: at inference only the best ``k`` grid queries per window by CAR
            score (``cls * reg``) are refined and kept (-1: all).
        test_peak_ratio: if set, the test grid keeps only cells whose start and end snippets
            are BMN boundary candidates of the TEM (local peaks or above this fraction of the
            maximum, :func:`boundary_peak_mask`); ``None``: the whole grid.
        local_max_kernel: keep a query only if its final score is the maximum of its
            ``k x k`` neighbourhood in the grid's duration x start map (1: keep all).
    """

    def __init__(self,
                 in_channels: int,
                 roi_channels: int = 128,
                 proposal_align: dict = dict(type='ProposalAlign1d', inner_bins=8,
                                             context_bins=8, context_ratio=0.5,
                                             sampling_ratio=2),
                 hidden_channels: int = 256,
                 coord_num_freqs: int = 4,
                 num_iters: int = 2,
                 iter_loss_decay: float = 0.8,
                 query_samplers: Sequence[dict] = _DEFAULT_SAMPLERS,
                 offset_iou_thr: float = 0.5,
                 min_length: float = 0.5,
                 segment_coder: dict = dict(type='LengthOffsetSegmentCoder'),
                 loss_cls: dict = dict(type='BalancedBCELoss', pos_thr=0.7, use_sigmoid=True),
                 loss_reg: dict = dict(type='MSELoss', use_sigmoid=True, loss_weight=10.0),
                 loss_offset: dict = dict(type='L1Loss'),
                 test_max_duration: Optional[int] = None,
                 test_refine_topk: int = -1,
                 test_peak_ratio: Optional[float] = None,
                 local_max_kernel: int = 3) -> None:
        super().__init__()
        if num_iters < 0:
            raise ValueError('RCLHead: num_iters must be >= 0')
        if not 0 < iter_loss_decay <= 1 or local_max_kernel < 1 or local_max_kernel % 2 == 0:
            raise ValueError('RCLHead: 0 < iter_loss_decay <= 1 and an odd local_max_kernel '
                             'required')
        if not query_samplers:
            raise ValueError('RCLHead: at least one query sampler is needed')
        self.align = MODELS.build(proposal_align)
        self.coord_num_freqs = int(coord_num_freqs)
        self.num_iters = int(num_iters)
        self.iter_loss_decay = float(iter_loss_decay)
        self.offset_iou_thr = float(offset_iou_thr)
        self.min_length = float(min_length)
        self.test_max_duration = None if test_max_duration is None else int(test_max_duration)
        self.test_refine_topk = int(test_refine_topk)
        self.test_peak_ratio = None if test_peak_ratio is None else float(test_peak_ratio)
        self.local_max_kernel = int(local_max_kernel)

        self.query_samplers = [TASK_UTILS.build(s) for s in query_samplers]
        self.coder = TASK_UTILS.build(segment_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_reg = MODELS.build(loss_reg)
        self.loss_offset = MODELS.build(loss_offset)

        self.reduce = ConvBlock1d(in_channels, roi_channels, 1)
        feat_dim = roi_channels * self.align.num_bins
        coord_dim = 3 * (1 + 2 * self.coord_num_freqs)
        self.car = nn.Sequential(_QueryEmbed(feat_dim, coord_dim, hidden_channels),
                                 nn.Linear(hidden_channels, hidden_channels),
                                 nn.ReLU(inplace=True))
        self.car_out = nn.Linear(hidden_channels, 4)
        if self.num_iters > 0:
            self.refine_embed = _QueryEmbed(feat_dim, coord_dim, hidden_channels)
            self.gru = nn.GRUCell(hidden_channels, hidden_channels)
            self.refine_out = nn.Linear(hidden_channels, 4)
        self._init_outputs()

    def _init_outputs(self) -> None:
        # start from "no move" offsets so the first refine inputs are the sampled queries
        outs = [self.car_out] + ([self.refine_out] if self.num_iters > 0 else [])
        for out in outs:
            nn.init.normal_(out.weight, std=0.01)
            nn.init.zeros_(out.bias)

    # -- representation -----------------------------------------------------------------------
    def reduce_features(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats [B, C, T]`` -> ``[B, roi_channels, T]`` (computed once per window)."""
        return self.reduce(feats)

    def query_features(self, x: torch.Tensor, queries: torch.Tensor,
                       batch_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Continuous anchoring representation of queries.

        Args:
            x: ``[B, C', T]`` reduced features.
            queries: ``[Q, 2]`` (start, end) window snippets.
            batch_idx: ``[Q]`` window of each query.
        Returns:
            (pooled features ``[Q, C' * bins]``, coordinate encoding ``[Q, 3 (1 + 2 F)]``).
        """
        q = queries.to(x.dtype)
        length = (q[:, 1] - q[:, 0]).clamp(min=self.min_length)
        pooled = self.align(x, torch.cat([batch_idx.to(x.dtype)[:, None], q], dim=1))
        W = float(x.shape[-1])
        coords = torch.stack([q[:, 0] / W, q[:, 1] / W, length / W], dim=1)
        return pooled.flatten(1), fourier_encode(coords, self.coord_num_freqs)

    # -- stages -------------------------------------------------------------------------------
    def forward_car(self, x: torch.Tensor, queries: torch.Tensor,
                    batch_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stage 0: -> (hidden ``[Q, H]``, outputs ``[Q, 4]`` = cls, reg logits, dxs, dxe)."""
        h = self.car(self.query_features(x, queries, batch_idx))
        return h, self.car_out(h)

    def forward_refine(self, x: torch.Tensor, queries: torch.Tensor, batch_idx: torch.Tensor,
                       hidden: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """One refine iteration on the current queries: -> (hidden, outputs ``[Q, 4]``)."""
        e = self.refine_embed(self.query_features(x, queries, batch_idx))
        h = self.gru(e, hidden)
        return h, self.refine_out(h)

    def update_queries(self, queries: torch.Tensor, outputs: torch.Tensor,
                       lengths: torch.Tensor) -> torch.Tensor:
        """Apply a stage's offsets: ``queries [Q, 2]``, ``outputs [Q, 4]``, ``lengths [Q]``
        (each query's valid window length) -> next queries ``[Q, 2]`` (no gradient)."""
        moved = self.coder.decode(queries, outputs[:, 2:].detach())
        return clamp_queries(moved, lengths, self.min_length)

    def forward(self, x: torch.Tensor, queries: torch.Tensor, batch_idx: torch.Tensor,
                lengths: torch.Tensor, num_iters: Optional[int] = None
                ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """All stages.

        Args:
            x: ``[B, C', T]`` from :meth:`reduce_features`.
            queries: ``[Q, 2]`` initial queries; ``batch_idx [Q]``; ``lengths [Q]`` valid
                length of each query's window.
            num_iters: refine iterations (default ``M``).
        Returns:
            per stage ``m = 0..M``: (its input queries ``[Q, 2]``, outputs ``[Q, 4]``).
        """
        num_iters = self.num_iters if num_iters is None else int(num_iters)
        h, out = self.forward_car(x, queries, batch_idx)
        stages = [(queries, out)]
        for _ in range(num_iters):
            queries = self.update_queries(queries, out, lengths)
            h, out = self.forward_refine(x, queries, batch_idx, h)
            stages.append((queries, out))
        return stages

    # -- training -----------------------------------------------------------------------------
    def sample_queries(self, masks: torch.Tensor, gt_segments: List[torch.Tensor]
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        """Training queries of every window.

        Returns:
            queries ``[Q, 2]``, batch_idx ``[Q]``, lengths ``[Q]``, and the ground truth of
            each window clipped to its valid length.
        """
        queries, idx, lens, gts = [], [], [], []
        for b in range(masks.shape[0]):
            T = int(masks[b].sum())
            g = gt_segments[b].to(masks.device).float().reshape(-1, 2).clamp(0, T)
            g = g[g[:, 1] > g[:, 0]]
            gts.append(g)
            q = torch.cat([s(T, g) for s in self.query_samplers]).to(masks.device)
            queries.append(q)
            idx.append(torch.full((q.shape[0],), b, dtype=torch.long, device=masks.device))
            lens.append(torch.full((q.shape[0],), float(T), device=masks.device))
        return torch.cat(queries), torch.cat(idx), torch.cat(lens), gts

    def targets(self, queries: torch.Tensor, batch_idx: torch.Tensor,
                gts: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per query: best tIoU ``[Q]``, offset targets ``[Q, 2]`` (to that ground truth),
        offset mask ``[Q]`` (tIoU >= ``offset_iou_thr``). All windows at once: ground truth
        padded to ``[B, N, 2]``, each query against the ``N`` of its window."""
        queries = queries.float()  # float32 targets under bf16/fp16 autocast too
        Q = queries.shape[0]
        N = max([g.shape[0] for g in gts] + [0])
        if N == 0 or Q == 0:
            zeros = queries.new_zeros(Q)
            return zeros, queries.new_zeros(queries.shape), zeros.bool()
        padded = queries.new_zeros((len(gts), N, 2))
        real = torch.zeros((len(gts), N), dtype=torch.bool, device=queries.device)
        for b, g in enumerate(gts):
            padded[b, :g.shape[0]] = g
            real[b, :g.shape[0]] = True
        cand = padded[batch_idx]  # [Q, N, 2]
        iou = segment_tiou(queries[:, None].expand(Q, N, 2).reshape(-1, 2),
                           cand.reshape(-1, 2), aligned=True).reshape(Q, N)
        iou = iou.masked_fill(~real[batch_idx], -1.0)  # padding never matches
        best, arg = iou.max(dim=1)
        best = best.clamp(min=0)
        offsets = self.coder.encode(queries, cand[torch.arange(Q, device=queries.device), arg])
        offsets = offsets.masked_fill((best <= 0)[:, None], 0.0)
        return best, offsets, best >= self.offset_iou_thr

    def loss(self, feats: torch.Tensor, masks: torch.Tensor,
             gt_segments: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``feats [B, C, T]``, ``masks [B, T]``, ground truth per window ``[N, 2]`` ->
        ``dict(loss_rcl_cls, loss_rcl_reg, loss_rcl_offset)`` summed over stages with
        weights ``alpha ** (M - m)``."""
        x = self.reduce_features(feats)
        queries, batch_idx, lengths, gts = self.sample_queries(masks, gt_segments)
        stages = self(x, queries, batch_idx, lengths)
        M = len(stages) - 1
        losses = dict(loss_rcl_cls=0.0, loss_rcl_reg=0.0, loss_rcl_offset=0.0)
        for m, (q, out) in enumerate(stages):
            w = self.iter_loss_decay ** (M - m)
            iou, off_t, off_mask = self.targets(q, batch_idx, gts)
            losses['loss_rcl_cls'] = losses['loss_rcl_cls'] + w * self.loss_cls(out[:, 0], iou)
            losses['loss_rcl_reg'] = losses['loss_rcl_reg'] + w * self.loss_reg(out[:, 1], iou)
            n = int(off_mask.sum())
            off = self.loss_offset(out[off_mask, 2:], off_t[off_mask], avg_factor=2 * n) \
                if n else out[:, 2:].sum() * 0.0
            losses['loss_rcl_offset'] = losses['loss_rcl_offset'] + w * off
        return losses

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, feats: torch.Tensor, masks: torch.Tensor,
                boundary_probs: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                ) -> List[dict]:
        """Score the grid queries, refine them, keep the local maxima.

        Args:
            feats: ``[W, C, T]``; masks ``[W, T]``.
            boundary_probs: TEM (start ``[W, T]``, end ``[W, T]``), needed with
                ``test_peak_ratio``.
        Returns:
            per window dict(segments ``[K, 2]`` refined segments, scores ``[K]`` =
            sigmoid(cls) * sigmoid(reg) of the last stage, ``queries [K, 2]`` the grid cells
            they started from).
        """
        x = self.reduce_features(feats)
        device = feats.device
        qs, idx, cells, lens = [], [], [], []
        for w in range(feats.shape[0]):
            T = int(masks[w].sum())
            q, cell = grid_queries(T, self.test_max_duration, device)
            if self.test_peak_ratio is not None:
                if boundary_probs is None:
                    raise ValueError('RCLHead: test_peak_ratio needs boundary_probs')
                starts = boundary_peak_mask(boundary_probs[0][w], T, self.test_peak_ratio,
                                            'first')
                ends = boundary_peak_mask(boundary_probs[1][w], T, self.test_peak_ratio, 'last')
                sel = starts[cell[:, 1]] & ends[cell[:, 1] + cell[:, 0]]
                q, cell = q[sel], cell[sel]
            qs.append(q)
            cells.append(cell)
            idx.append(torch.full((q.shape[0],), w, dtype=torch.long, device=device))
            lens.append(torch.full((q.shape[0],), float(T), device=device))
        queries, batch_idx, cell, lengths = (torch.cat(qs), torch.cat(idx), torch.cat(cells),
                                             torch.cat(lens))
        h, out = self.forward_car(x, queries, batch_idx)
        if self.test_refine_topk > 0:
            score = out[:, 0].sigmoid() * out[:, 1].sigmoid()
            keep = []
            for w in range(feats.shape[0]):
                sel = torch.nonzero(batch_idx == w).squeeze(1)
                k = min(self.test_refine_topk, sel.numel())
                keep.append(sel[score[sel].topk(k).indices])
            keep = torch.cat(keep)
            queries, batch_idx, cell, lengths, h, out = (queries[keep], batch_idx[keep],
                                                         cell[keep], lengths[keep], h[keep],
                                                         out[keep])
        start_queries = queries
        for _ in range(self.num_iters):
            queries = self.update_queries(queries, out, lengths)
            h, out = self.forward_refine(x, queries, batch_idx, h)
        segments = self.update_queries(queries, out, lengths)
        scores = out[:, 0].sigmoid() * out[:, 1].sigmoid()
        keep = self.local_maxima(scores, cell, batch_idx, feats.shape[0], feats.shape[-1])
        results = []
        for w in range(feats.shape[0]):
            sel = keep[batch_idx[keep] == w]
            results.append(dict(segments=segments[sel], scores=scores[sel],
                                queries=start_queries[sel]))
        return results

    def local_maxima(self, scores: torch.Tensor, cell: torch.Tensor, batch_idx: torch.Tensor,
                     num_windows: int, T: int) -> torch.Tensor:
        """Indices of queries whose score is the maximum of their ``k x k`` neighbourhood in
        the per-window duration x start map (cells without a query do not compete)."""
        if self.local_max_kernel == 1 or scores.numel() == 0:
            return torch.arange(scores.numel(), device=scores.device)
        D = int(cell[:, 0].max()) + 1
        smap = scores.new_full((num_windows, D, T), -1.0)
        smap[batch_idx, cell[:, 0], cell[:, 1]] = scores
        k = self.local_max_kernel
        pooled = F.max_pool2d(smap[:, None], k, stride=1, padding=k // 2)[:, 0]
        is_max = scores >= pooled[batch_idx, cell[:, 0], cell[:, 1]]
        return torch.nonzero(is_max).squeeze(1)
