"""SegTAD's proposal detection network (PDN): sparse proposals, RoIAlign features (inner +
context), a proposal graph (edges by tIoU, weights by cosine similarity) through stacked edge
convs, and a head scoring each proposal with s1 (tIoU regression) and s2 (tIoU > 0.5)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.dense_heads.base_tad_head import BaseTADHead, unpack_gt_instances
from tadet.models.layers import EdgeConv1d
from tadet.models.task_modules.segtad_proposals import tiou_neighbours
from tadet.models.task_modules.segtad_targets import proposal_tiou_targets
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample


@MODELS.register_module()
class SegTADPDN(BaseTADHead):
    """Proposal detection network on the SSN output ``[B, C, T]``.

    Nodes are proposals ``[i, i + j]`` (``SparseProposalGenerator``), featured by
    ``ProposalAlign1d`` (inner + context bins) flattened through a linear layer + ReLU. Each node
    links to itself and its ``graph_k`` highest-tIoU proposals (tIoU > 0) among the nodes of its
    window; every edge conv layer weights edges by the cosine similarity of the current node
    features (``edge_weight='cosine'``) and aggregates with max. Training runs the graph on the
    proposals picked by the neighbourhood sampler (seeds + tIoU neighbourhoods; the graph is
    rebuilt among them), inference on all proposals of a window.

    Head contract: ``forward`` scores every proposal of every window; ``loss`` first samples the
    training nodes by their tIoU with the (class-agnostic) ground truth, so it runs the graph
    on those instead (:meth:`forward_train`); ``predict`` returns class-agnostic proposals
    (label 0) scored ``sigmoid(s1) * sigmoid(s2)``, which the detector classifies.

    Args:
        in_channels: SSN output channels.
        feat_channels: node feature channels.
        proposal_generator: ``SparseProposalGenerator`` config (``step``: paper 8).
        align: ``ProposalAlign1d`` config.
        num_gcn_layers: stacked edge convs (paper: 3).
        graph_k: tIoU neighbours per node (besides itself).
        edge_weight: ``'cosine'`` or ``None`` (unweighted).
        aggregation: edge conv aggregation (``'max'``, ``'mean'``, ``'sum'``).
        residual: add each edge conv's input to its output (keeps the node's own evidence
            through three graph layers).
        sampler: ``NeighbourhoodSampler`` config (paper: 50 seeds, half positive, 4 + 4 x 4
            neighbours).
        pos_iou_thr: s2 target is ``tIoU > pos_iou_thr`` (paper: 0.5).
        loss_tiou: s1 loss (MSE on ``sigmoid(s1)`` vs tIoU; paper eq. 10, weight 1).
        loss_cls: s2 loss (BCE with logits on ``tIoU > pos_iou_thr``; paper eq. 11, weight
            ``lambda = 1``). Detection loss = ``loss_pdn_tiou + loss_pdn_cls``.
        test_chunk: proposals whose features are computed at once at inference (memory bound).
        init_cfg: mmengine weight init config.
    """

    def __init__(self, in_channels: int, feat_channels: int = 256,
                 proposal_generator: Optional[dict] = None, align: Optional[dict] = None,
                 num_gcn_layers: int = 3, graph_k: int = 4, edge_weight: Optional[str] = 'cosine',
                 aggregation: str = 'max', residual: bool = True, sampler: Optional[dict] = None,
                 pos_iou_thr: float = 0.5, loss_tiou: Optional[dict] = None,
                 loss_cls: Optional[dict] = None, test_chunk: int = 2048,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if edge_weight not in ('cosine', None):
            raise ValueError(f"SegTADPDN: edge_weight must be 'cosine' or None, "
                             f'got {edge_weight!r}')
        if graph_k < 1 or num_gcn_layers < 0:
            raise ValueError('SegTADPDN: need graph_k >= 1 and num_gcn_layers >= 0')
        self.proposal_generator = TASK_UTILS.build(
            proposal_generator or dict(type='SparseProposalGenerator', step=8))
        self.align = MODELS.build(align or dict(type='ProposalAlign1d'))
        self.sampler = TASK_UTILS.build(sampler or dict(type='NeighbourhoodSampler'))
        if self.sampler.num_neighbours > graph_k:
            raise ValueError(f'SegTADPDN: sampler.num_neighbours ({self.sampler.num_neighbours})'
                             f' > graph_k ({graph_k})')
        self.graph_k, self.edge_weight, self.residual = int(graph_k), edge_weight, bool(residual)
        self.pos_iou_thr, self.test_chunk = float(pos_iou_thr), int(test_chunk)
        self.node_fc = nn.Sequential(
            nn.Linear(in_channels * self.align.num_bins, feat_channels), nn.ReLU(inplace=True))
        self.gcn = nn.ModuleList([
            EdgeConv1d(feat_channels, feat_channels, k=graph_k + 1, aggregation=aggregation)
            for _ in range(num_gcn_layers)])
        self._proposal_cache: dict = {}
        self.score_out = nn.Linear(feat_channels, 2)  # (s1 tIoU, s2 tIoU > thr) logits
        self.loss_tiou = MODELS.build(loss_tiou or dict(type='MSELoss', use_sigmoid=True))
        self.loss_cls = MODELS.build(loss_cls or dict(type='BinaryCrossEntropyLoss'))

    # -- pieces -------------------------------------------------------------------------------
    def node_features(self, feats: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """``feats [B, C, T]``, ``rois [N, 3]`` (batch, start, end) -> ``[N, feat_channels]``."""
        return self.node_fc(self.align(feats, rois).flatten(1))

    def graph(self, proposals: List[torch.Tensor],
              neighbours: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        """Neighbour index ``[1, N, graph_k + 1]`` of the concatenated proposals of several
        windows (itself first, then tIoU neighbours of the same window; -1 = none);
        ``neighbours``: precomputed ``[N_b, graph_k]`` per window."""
        parts, base = [], 0
        for i, p in enumerate(proposals):
            idx = (tiou_neighbours(p, self.graph_k)[0] if neighbours is None
                   else neighbours[i])
            self_idx = torch.arange(p.shape[0], device=p.device)[:, None]
            nb = torch.cat([self_idx, idx], dim=1)
            parts.append(torch.where(nb >= 0, nb + base, nb))
            base += p.shape[0]
        return torch.cat(parts).unsqueeze(0)

    def _edge_weights(self, x: torch.Tensor, nb: torch.Tensor) -> Optional[torch.Tensor]:
        """Cosine similarity ``[1, N, K]`` of every node with its neighbours (``x [1, D, N]``)."""
        if self.edge_weight is None:
            return None
        xn = F.normalize(x[0].t(), dim=1)  # [N, D]
        n = nb[0]
        n = torch.where(n >= 0, n, torch.arange(n.shape[0], device=n.device)[:, None])
        return (xn[:, None, :] * xn[n]).sum(-1).unsqueeze(0)

    def forward_graph(self, nodes: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
        """``nodes [N, D]``, ``nb [1, N, K]`` -> score logits ``[N, 2]`` (s1, s2)."""
        x = nodes.t().unsqueeze(0)  # [1, D, N]
        for conv in self.gcn:
            out = conv(x, neighbours=nb, edge_weights=self._edge_weights(x, nb))
            x = x + out if self.residual else out
        return self.score_out(x[0].t())

    def window_proposals(self, valid_length: int,
                         device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Proposals ``[N, 2]`` of a window with ``valid_length`` real snippets and their tIoU
        neighbours ``[N, graph_k]``; cached per length (windows mostly share one length, and
        the ``N x N`` tIoU ranking is the costly part)."""
        key = (int(valid_length), str(device))
        if key not in self._proposal_cache:
            if len(self._proposal_cache) >= 64:
                self._proposal_cache.pop(next(iter(self._proposal_cache)))
            props = self.proposal_generator(int(valid_length), device=device)
            self._proposal_cache[key] = (props, tiou_neighbours(props, self.graph_k)[0])
        return self._proposal_cache[key]

    def proposals(self, masks: torch.Tensor) -> List[torch.Tensor]:
        """Per window ``[N_b, 2]`` proposals over its valid snippets."""
        return [self.window_proposals(int(m.sum()), masks.device)[0] for m in masks]

    # -- train / test -------------------------------------------------------------------------
    def forward(self, feats: torch.Tensor,
                masks: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Every proposal of every window: ``feats [B, C, T]``, ``masks [B, T]`` -> (proposals
        ``[N_b, 2]`` per window, score logits ``[N_b, 2]`` (s1, s2) per window)."""
        proposals, logits = [], []
        for b, m in enumerate(masks):
            props, nbrs = self.window_proposals(int(m.sum()), masks.device)
            proposals.append(props)
            if props.shape[0] == 0:
                logits.append(feats.new_zeros((0, 2)))
                continue
            rois = torch.cat([props.new_full((props.shape[0], 1), b), props], 1)
            nodes = torch.cat([self.node_features(feats, rois[i:i + self.test_chunk])
                               for i in range(0, rois.shape[0], self.test_chunk)])
            logits.append(self.forward_graph(nodes, self.graph([props], [nbrs])))
        return proposals, logits

    def forward_train(self, feats: torch.Tensor, masks: torch.Tensor,
                      gt_segments: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sample each window's nodes (:class:`NeighbourhoodSampler`, by their max tIoU with
        ``gt_segments [M_b, 2]``) and score them on the graph among the sampled nodes ->
        (score logits ``[N, 2]``, tIoU targets ``[N]``) of all sampled nodes."""
        sampled, targets, rois = [], [], []
        for b, m in enumerate(masks):
            props, nbrs = self.window_proposals(int(m.sum()), masks.device)
            tiou = proposal_tiou_targets(props, gt_segments[b])
            nodes, _ = self.sampler(tiou, nbrs)
            sampled.append(props[nodes])
            targets.append(tiou[nodes])
            rois.append(torch.cat([props.new_full((nodes.numel(), 1), b), props[nodes]], 1))
        logits = self.forward_graph(self.node_features(feats, torch.cat(rois)),
                                    self.graph(sampled))
        return logits, torch.cat(targets)

    def loss(self, feats: torch.Tensor, masks: torch.Tensor,
             data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``forward_train`` on the class-agnostic ground truth + ``loss_by_feat``."""
        gt_segments, _ = unpack_gt_instances(data_samples, masks.device, class_agnostic=True)
        return self.loss_by_feat(self.forward_train(feats, masks, gt_segments), masks,
                                 data_samples)

    def loss_by_feat(self, outs: Tuple[torch.Tensor, torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``outs`` = (logits ``[N, 2]``, tIoU targets ``[N]``) of the sampled nodes (the
        targets were assigned when sampling, which needs them) -> ``dict(loss_pdn_tiou,
        loss_pdn_cls)``."""
        logits, tiou = outs
        return dict(loss_pdn_tiou=self.loss_tiou(logits[:, 0], tiou),
                    loss_pdn_cls=self.loss_cls(logits[:, 1], (tiou > self.pos_iou_thr).float()))

    def predict_by_feat(self, outs: Tuple[List[torch.Tensor], List[torch.Tensor]],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window class-agnostic candidates: dict(segments ``[N, 2]``, scores ``[N]`` =
        ``sigmoid(s1) * sigmoid(s2)``, labels ``[N]`` = 0)."""
        out = []
        for props, logits in zip(*outs):
            prob = logits.sigmoid()
            out.append(dict(segments=props, scores=prob[:, 0] * prob[:, 1],
                            labels=torch.zeros(props.shape[0], dtype=torch.long,
                                               device=props.device)))
        return out
