"""Shared detector of the (start, duration) grid family (BMN, G-TAD): an encoder, a temporal
evaluation head (start / end), a proposal head producing (classification, regression)
confidence maps ``[B, 2, D, T]``, and an optional per-snippet classification head giving class
labels where no external video-level classifier is used (THUMOS14)."""
from typing import Dict, List, Optional, Union

import torch

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..dense_heads.snippet_cls_head import proposal_class_scores
from ..post_processing import decode_class_scores, grid_candidates
from .base import BaseTADDetector


class GridProposalDetector(BaseTADDetector):
    """Encoder + TEM + grid proposal head (+ snippet classification head).

    Inference per window: BMN's candidates (start and end snippets at TEM local peaks or above
    ``peak_ratio`` x max; score ``start * end * cls_conf * reg_conf``), the best
    ``max_proposals`` kept; with ``cls_head`` each proposal's class scores are the mean snippet
    class probabilities inside it and (segment, class) candidates scored ``score * p(class)``
    are made by ``decode_class_scores``; without, proposals are class-agnostic (label 0, for
    ``post_processing.external_classifier``). (Soft-)NMS and the per-video top-k are the shared
    post-processing's (``test_cfg.post_processing``).

    Args:
        encoder: module config, ``forward(x [B, C_in, T], mask [B, T]) -> [B, C, T]``.
        tem_head: ``TEMHead`` config.
        proposal_head: head config with ``forward(feats, mask) -> [B, 2, D, T]`` and
            ``loss(maps, masks, gt_segments)``.
        cls_head: optional ``SnippetClassificationHead`` config.
        peak_ratio: BMN's "above this fraction of the maximum" boundary rule (0.5).
        max_proposals: proposals kept per window before class expansion (-1: all).
        test_topk / test_score_thr: (segment, class) candidates kept per window.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector``; ``train_cfg``: no
            detector-level options (the heads own targets and losses).
    """

    def __init__(self,
                 encoder: dict,
                 tem_head: dict,
                 proposal_head: dict,
                 cls_head: Optional[dict] = None,
                 peak_ratio: float = 0.5,
                 max_proposals: int = 1000,
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.encoder = MODELS.build(encoder)
        self.tem_head = MODELS.build(tem_head)
        self.proposal_head = MODELS.build(proposal_head)
        self.cls_head = None if cls_head is None else MODELS.build(cls_head)
        self.peak_ratio = float(peak_ratio)
        self.max_proposals = int(max_proposals)
        self.test_topk = int(test_topk)
        self.test_score_thr = float(test_score_thr)

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> dict:
        """Raw outputs: dict(start ``[B, T]``, end ``[B, T]``, maps ``[B, 2, D, T]``,
        cls_logits ``[B, C+1, T]`` or None)."""
        feats = self.encoder(inputs, masks)
        start, end = self.tem_head(feats)
        return dict(start=start, end=end, maps=self.proposal_head(feats, masks),
                    cls_logits=None if self.cls_head is None else self.cls_head(feats))

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``inputs [B, C, T]``, ``masks [B, T]`` -> TEM, proposal-map (and snippet class)
        losses."""
        out = self._forward(inputs, masks)
        gt_segments = [s.gt_instances.segments.to(inputs.device).float() for s in data_samples]
        losses = self.tem_head.loss(out['start'], out['end'], masks, gt_segments)
        losses.update(self.proposal_head.loss(out['maps'], masks, gt_segments))
        if self.cls_head is not None:
            gt_labels = [s.gt_instances.labels.to(inputs.device).long() for s in data_samples]
            losses.update(self.cls_head.loss(out['cls_logits'], masks, gt_segments, gt_labels))
        return losses

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, L]`` -> per window dict(segments, scores, labels)."""
        out = self._forward(inputs, masks)
        probs = (None if out['cls_logits'] is None
                 else self.cls_head.probabilities(out['cls_logits']))  # [W, T, C]
        results = []
        for w in range(inputs.shape[0]):
            cand = grid_candidates(out['start'][w], out['end'][w], out['maps'][w, 0],
                                   out['maps'][w, 1], int(masks[w].sum()), self.peak_ratio)
            segs, scores = cand['segments'], cand['scores']
            if 0 < self.max_proposals < scores.numel():
                idx = scores.topk(self.max_proposals).indices
                segs, scores = segs[idx], scores[idx]
            if probs is None:
                keep = scores > self.test_score_thr
                results.append(dict(segments=segs[keep], scores=scores[keep],
                                    labels=scores.new_zeros(int(keep.sum()), dtype=torch.long)))
            else:
                cls = proposal_class_scores(probs[w], segs) * scores[:, None]
                results.append(decode_class_scores(segs, cls, self.test_topk,
                                                   self.test_score_thr))
        return results
