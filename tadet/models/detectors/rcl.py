"""RCL (Wang et al., CVPR 2022): recurrent continuous localization, a plug-in for grid-based
proposal detectors. The base (BMN's or G-TAD's encoder + the temporal evaluation head) is
kept; the discrete boundary-matching / graph proposal map is replaced by the continuous
anchoring representation and the recurrent refine module (:class:`RCLHead`).

The encoder is chosen by config: ``encoder=dict(type='BMNEncoder', ...)`` or
``dict(type='GCNeXtEncoder', ...)`` (both ``[B, C_in, T] -> [B, C, T]``).
"""
import inspect
from typing import Dict, List, Optional, Union

import torch

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..dense_heads.snippet_cls_head import proposal_class_scores
from ..post_processing import decode_class_scores
from .base import BaseTADDetector


def boundary_scores(start: torch.Tensor, end: torch.Tensor,
                    segments: torch.Tensor) -> torch.Tensor:
    """TEM probabilities at continuous boundaries, linearly interpolated.

    ``start [T]`` is about a boundary at ``t``, ``end [T]`` about one at ``t + 1`` (the TEM
    convention of ``boundary_targets``), so a segment ``(xs, xe)`` reads ``start`` at ``xs`` and
    ``end`` at ``xe - 1``. ``segments [N, 2]`` -> ``start(xs) * end(xe) [N]``.
    """
    def interp(seq, pos):
        T = seq.shape[0]
        pos = pos.clamp(0, T - 1)
        lo = pos.floor().long().clamp(max=T - 1)
        hi = (lo + 1).clamp(max=T - 1)
        frac = pos - lo.to(pos.dtype)
        return seq[lo] * (1 - frac) + seq[hi] * frac

    segments = segments.to(start.dtype)
    return interp(start, segments[:, 0]) * interp(end, segments[:, 1] - 1.0)


@MODELS.register_module()
class RCL(BaseTADDetector):
    """Encoder + TEM head + RCL head (+ optional snippet classification head).

    Args:
        encoder: temporal encoder (``BMNEncoder`` or ``GCNeXtEncoder``).
        tem_head: ``TEMHead`` (start / end probabilities and their loss).
        roi_head: ``RCLHead`` (CAR + refine, query samplers, losses).
        cls_head: optional ``SnippetClassificationHead`` on the encoder features: class
            scores of a proposal = mean snippet probabilities inside it (THUMOS14, where no
            external video-level classifier exists). ``None``: class-agnostic proposals
            (label 0), e.g. for ``post_processing.external_classifier`` on ActivityNet.
        use_boundary_score: multiply the proposal score by the TEM start / end probabilities
            at its boundaries (BMN's score); see ``configs/rcl/README.md``.
        test_topk / test_score_thr: (segment, class) candidates kept per window when
            ``cls_head`` is set.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector``; ``train_cfg``: no
            detector-level options (the heads own samplers, targets and losses).

    The 1e-5 L2 term of the paper is the optimizer's ``weight_decay`` in the configs.
    """

    def __init__(self,
                 encoder: dict,
                 tem_head: dict,
                 roi_head: dict,
                 cls_head: Optional[dict] = None,
                 use_boundary_score: bool = False,
                 test_topk: int = 500,
                 test_score_thr: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.encoder = MODELS.build(encoder)
        # G-TAD's encoder keeps padded snippets out of its kNN graph; BMN's takes no mask
        self._encoder_takes_mask = 'mask' in inspect.signature(self.encoder.forward).parameters
        self.tem_head = MODELS.build(tem_head)
        self.roi_head = MODELS.build(roi_head)
        self.cls_head = None if cls_head is None else MODELS.build(cls_head)
        self.use_boundary_score = bool(use_boundary_score)
        self.test_topk = int(test_topk)
        self.test_score_thr = float(test_score_thr)

    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Encoder features ``[B, C, T]`` of ``inputs [B, C_in, T]``."""
        return self.encoder(inputs, masks) if self._encoder_takes_mask else self.encoder(inputs)

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> tuple:
        """Raw outputs for FLOPs counting: (start, end, per-window proposals of
        ``RCLHead.predict``, class logits or None)."""
        if masks is None:
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[-1]), dtype=torch.bool)
        feats = self.extract_feat(inputs, masks)
        start, end = self.tem_head(feats)
        props = self.roi_head.predict(feats, masks, (start, end))
        logits = self.cls_head(feats) if self.cls_head is not None else None
        return start, end, [(p['segments'], p['scores']) for p in props], logits

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``inputs [B, C, T]``, ``masks [B, T]`` -> TEM, RCL (and snippet class) losses."""
        feats = self.extract_feat(inputs, masks)
        gt_segments = [s.gt_instances.segments.to(inputs.device).float() for s in data_samples]
        start, end = self.tem_head(feats)
        losses = dict(self.tem_head.loss(start, end, masks, gt_segments))
        losses.update(self.roi_head.loss(feats, masks, gt_segments))
        if self.cls_head is not None:
            gt_labels = [s.gt_instances.labels.to(inputs.device).long() for s in data_samples]
            losses.update(self.cls_head.loss(self.cls_head(feats), masks, gt_segments,
                                             gt_labels))
        return losses

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, L]`` -> per window the refined local-maximum queries, scored
        ``cls * reg`` (x TEM boundary probabilities if ``use_boundary_score``), with classes
        from ``cls_head`` or label 0."""
        feats = self.extract_feat(inputs, masks)
        start, end = self.tem_head(feats)
        props = self.roi_head.predict(feats, masks, (start, end))
        probs = (self.cls_head.probabilities(self.cls_head(feats))
                 if self.cls_head is not None else None)
        out = []
        for w, p in enumerate(props):
            segs, scores = p['segments'], p['scores']
            if self.use_boundary_score:
                scores = scores * boundary_scores(start[w], end[w], segs)
            if probs is None:
                out.append(dict(segments=segs, scores=scores,
                                labels=torch.zeros_like(scores, dtype=torch.long)))
                continue
            valid = max(int(masks[w].sum()), 1)
            cls = proposal_class_scores(probs[w, :valid], segs) * scores[:, None]
            out.append(decode_class_scores(segs, cls, self.test_topk, self.test_score_thr))
        return out
