"""RCL's head: temporal evaluation module + continuous anchoring representation (CAR) +
recurrent refinement.

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

Targets of a stage come from its input queries (``QueryTIoUAssigner``): tIoU with the best
ground truth of the window (cls: balanced BCE on tIoU > ``pos_thr`` of ``loss_cls``; reg: MSE
to the tIoU), offsets (L1, ``LengthOffsetSegmentCoder``) for the positive queries (tIoU >=
the assigner's ``pos_iou_thr``). Stage ``m``'s losses are weighted by
``iter_loss_decay ** (M - m)`` (the last stage weighs 1, as in RAFT's sequence loss).

The head owns the base's temporal evaluation module (``tem_head``): its losses are added to
RCL's and its start / end probabilities restrict the test grid (``test_peak_ratio``) and,
with ``test_cfg.use_boundary_score``, multiply the proposal scores (BMN's score).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.dense_heads.base_tad_head import BaseTADHead, unpack_gt_instances
from tadet.models.layers import ConvBlock1d
from tadet.models.post_processing.grid_candidates import (boundary_peak_mask, boundary_scores,
                                                          grid_local_maxima)
from tadet.models.task_modules.rcl_query_samplers import (clamp_queries, grid_queries,
                                                          sample_window_queries)
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

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
class RCLHead(BaseTADHead):
    """TEM + continuous anchoring representation + recurrent refine module (see module
    docstring). ``predict`` gives class-agnostic proposals (label 0).

    Args:
        in_channels: channels of the encoder features ``[B, C, T]``.
        tem_head: ``TEMHead`` config (built first: its parameters precede RCL's).
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
        assigner: ``QueryTIoUAssigner`` config (``pos_iou_thr``: queries with tIoU >= this get
            an offset target).
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
            ``k x k`` neighbourhood in the grid's duration x start map (1: keep all;
            :func:`grid_local_maxima`).
        init_cfg: mmengine weight initialisation config.

    ``test_cfg`` key: ``use_boundary_score`` (default False): multiply each proposal's score
    by the TEM start / end probabilities at its boundaries (:func:`boundary_scores`).
    """

    TEST_CFG_KEYS = frozenset({'use_boundary_score'})

    def __init__(self,
                 in_channels: int,
                 tem_head: dict,
                 roi_channels: int = 128,
                 proposal_align: dict = dict(type='ProposalAlign1d', inner_bins=8,
                                             context_bins=8, context_ratio=0.5,
                                             sampling_ratio=2),
                 hidden_channels: int = 256,
                 coord_num_freqs: int = 4,
                 num_iters: int = 2,
                 iter_loss_decay: float = 0.8,
                 query_samplers: Sequence[dict] = _DEFAULT_SAMPLERS,
                 assigner: dict = dict(type='QueryTIoUAssigner', pos_iou_thr=0.5),
                 min_length: float = 0.5,
                 segment_coder: dict = dict(type='LengthOffsetSegmentCoder'),
                 loss_cls: dict = dict(type='BalancedBCELoss', pos_thr=0.7, use_sigmoid=True),
                 loss_reg: dict = dict(type='MSELoss', use_sigmoid=True, loss_weight=10.0),
                 loss_offset: dict = dict(type='L1Loss'),
                 test_max_duration: Optional[int] = None,
                 test_refine_topk: int = -1,
                 test_peak_ratio: Optional[float] = None,
                 local_max_kernel: int = 3,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_iters < 0:
            raise ValueError('RCLHead: num_iters must be >= 0')
        if not 0 < iter_loss_decay <= 1 or local_max_kernel < 1 or local_max_kernel % 2 == 0:
            raise ValueError('RCLHead: 0 < iter_loss_decay <= 1 and an odd local_max_kernel '
                             'required')
        if not query_samplers:
            raise ValueError('RCLHead: at least one query sampler is needed')
        self.tem_head = MODELS.build(tem_head)
        self.align = MODELS.build(proposal_align)
        self.coord_num_freqs = int(coord_num_freqs)
        self.num_iters = int(num_iters)
        self.iter_loss_decay = float(iter_loss_decay)
        self.min_length = float(min_length)
        self.test_max_duration = None if test_max_duration is None else int(test_max_duration)
        self.test_refine_topk = int(test_refine_topk)
        self.test_peak_ratio = None if test_peak_ratio is None else float(test_peak_ratio)
        self.local_max_kernel = int(local_max_kernel)

        self.query_samplers = [TASK_UTILS.build(s) for s in query_samplers]
        self.assigner = TASK_UTILS.build(assigner)
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

    def forward_stages(self, x: torch.Tensor, queries: torch.Tensor, batch_idx: torch.Tensor,
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
        """Training queries of every window (:func:`sample_window_queries`)."""
        return sample_window_queries(self.query_samplers, masks, gt_segments)

    def targets(self, queries: torch.Tensor, batch_idx: torch.Tensor,
                gts: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per query (the assigner, window by window): best tIoU ``[Q]`` (float32), offset
        targets ``[Q, 2]`` towards the assigned ground truth (0 for negatives), positive mask
        ``[Q]``."""
        queries = queries.float()  # float32 targets under bf16/fp16 autocast too
        Q = queries.shape[0]
        iou = queries.new_zeros(Q)
        offsets = queries.new_zeros((Q, 2))
        pos = torch.zeros(Q, dtype=torch.bool, device=queries.device)
        for b, g in enumerate(gts):
            sel = torch.nonzero(batch_idx == b).squeeze(1)
            res = self.assigner.assign(queries[sel], g)
            iou[sel] = res.max_tious
            p = sel[res.pos_mask]
            if p.numel():
                offsets[p] = self.coder.encode(queries[p], g[res.gt_inds[res.pos_mask] - 1])
                pos[p] = True
        return iou, offsets, pos

    def forward_train(self, feats: torch.Tensor, masks: torch.Tensor,
                      data_samples: Sequence[TADDataSample]) -> dict:
        """Training forward (the queries are sampled around the ground truth): dict(start,
        end ``[B, T]``, stages (per stage (queries ``[Q, 2]``, outputs ``[Q, 4]``)),
        batch_idx ``[Q]``, gts (per window ``[N, 2]``, clipped))."""
        start, end = self.tem_head(feats, masks)
        gt_segments, _ = unpack_gt_instances(data_samples, feats.device, class_agnostic=True)
        x = self.reduce_features(feats)
        queries, batch_idx, lengths, gts = self.sample_queries(masks, gt_segments)
        stages = self.forward_stages(x, queries, batch_idx, lengths)
        return dict(start=start, end=end, stages=stages, batch_idx=batch_idx, gts=gts)

    def loss(self, feats: torch.Tensor, masks: torch.Tensor,
             data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``forward_train`` + ``loss_by_feat`` (training queries depend on the ground truth,
        so the test-time ``forward`` is not the training one)."""
        return self.loss_by_feat(self.forward_train(feats, masks, data_samples), masks,
                                 data_samples)

    def loss_by_feat(self, outs: dict, masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``outs`` of :meth:`forward_train` -> ``dict(loss_start, loss_end, loss_rcl_cls,
        loss_rcl_reg, loss_rcl_offset)``, RCL's summed over stages with weights
        ``alpha ** (M - m)``."""
        losses = self.tem_head.loss_by_feat((outs['start'], outs['end']), masks, data_samples)
        stages, batch_idx = outs['stages'], outs['batch_idx']
        M = len(stages) - 1
        rcl = dict(loss_rcl_cls=0.0, loss_rcl_reg=0.0, loss_rcl_offset=0.0)
        for m, (q, out) in enumerate(stages):
            w = self.iter_loss_decay ** (M - m)
            iou, off_t, off_mask = self.targets(q, batch_idx, outs['gts'])
            rcl['loss_rcl_cls'] = rcl['loss_rcl_cls'] + w * self.loss_cls(out[:, 0], iou)
            rcl['loss_rcl_reg'] = rcl['loss_rcl_reg'] + w * self.loss_reg(out[:, 1], iou)
            n = int(off_mask.sum())
            off = self.loss_offset(out[off_mask, 2:], off_t[off_mask], avg_factor=2 * n) \
                if n else out[:, 2:].sum() * 0.0
            rcl['loss_rcl_offset'] = rcl['loss_rcl_offset'] + w * off
        losses.update(rcl)
        return losses

    # -- inference ----------------------------------------------------------------------------
    def forward(self, feats: torch.Tensor,
                masks: Optional[torch.Tensor] = None) -> Dict[str, object]:
        """Test-time forward: ``feats [W, C, T]``, ``masks [W, T]`` -> dict(start, end
        ``[W, T]`` TEM probabilities, proposals: :meth:`predict_queries` of each window)."""
        if masks is None:
            masks = feats.new_ones((feats.shape[0], feats.shape[-1]), dtype=torch.bool)
        start, end = self.tem_head(feats, masks)
        return dict(start=start, end=end,
                    proposals=self.predict_queries(feats, masks, (start, end)))

    def predict_by_feat(self, outs: Dict[str, object],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window the class-agnostic proposals dict(segments ``[K, 2]``, scores ``[K]``,
        labels ``[K]`` = 0)."""
        use_boundary = bool(self.get_test_cfg('use_boundary_score', False))
        results = []
        for w, p in enumerate(outs['proposals']):
            segs, scores = p['segments'], p['scores']
            if use_boundary:
                scores = scores * boundary_scores(outs['start'][w], outs['end'][w], segs)
            results.append(dict(segments=segs, scores=scores,
                                labels=torch.zeros_like(scores, dtype=torch.long)))
        return results

    @torch.no_grad()
    def predict_queries(self, feats: torch.Tensor, masks: torch.Tensor,
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
        keep = grid_local_maxima(scores, cell, batch_idx, feats.shape[0], feats.shape[-1],
                                 self.local_max_kernel)
        results = []
        for w in range(feats.shape[0]):
            sel = keep[batch_idx[keep] == w]
            results.append(dict(segments=segments[sel], scores=scores[sel],
                                queries=start_queries[sel]))
        return results
