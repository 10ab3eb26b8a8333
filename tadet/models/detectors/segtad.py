"""SegTAD (Zhao et al.): temporal action detection as 1D semantic segmentation (1D-SSN: encoder,
PAG module, decoder; per-snippet classes and start / end) followed by a proposal detection
network (sparse proposals, proposal graph, tIoU scores). Inference scores each proposal
``s1 * s2 * class score`` and sends the candidates through the shared post-processing
(soft-NMS, top 100)."""
from typing import Dict, List, Optional, Union

import torch

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..dense_heads.snippet_cls_head import proposal_class_scores
from ..post_processing import decode_class_scores
from .base import BaseTADDetector

CLASS_SOURCES = ('segmentation', 'none')


@MODELS.register_module()
class SegTAD(BaseTADDetector):
    """1D-SSN neck + segmentation head + PDN.

    Args:
        neck: ``SegTADSSN`` config (the ablation switches ``use_atrous`` / ``use_graph`` /
            ``use_global`` live there).
        seg_head: ``SegTADSegHead`` config.
        roi_head: ``SegTADPDN`` config.
        num_classes: if given, overrides ``seg_head.num_classes``.
        class_source: ``'segmentation'``: a proposal's class scores are the mean snippet class
            probabilities of the segmentation branch inside it (THUMOS14), candidates are
            (proposal, class) pairs scored ``s1 * s2 * p_c``; ``'none'``: class-agnostic
            candidates (label 0) scored ``s1 * s2``, for an external video-level classifier in
            ``test_cfg.post_processing`` (ActivityNet).
        test_topk / test_score_thr: candidates kept per window.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector``; ``train_cfg``: SegTAD
            has no detector-level options (heads own their targets, sampler and losses).
    """

    def __init__(self,
                 neck: dict,
                 seg_head: dict,
                 roi_head: dict,
                 num_classes: Optional[int] = None,
                 class_source: str = 'segmentation',
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        if class_source not in CLASS_SOURCES:
            raise ValueError(f'SegTAD: class_source must be one of {CLASS_SOURCES}, '
                             f'got {class_source!r}')
        self.class_source = class_source
        self.test_topk, self.test_score_thr = int(test_topk), float(test_score_thr)
        self.neck = MODELS.build(neck)
        seg_head = dict(seg_head)
        if num_classes is not None:
            seg_head['num_classes'] = num_classes
        self.seg_head = MODELS.build(seg_head)
        self.roi_head = MODELS.build(roi_head)

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> tuple:
        """Raw outputs: (class logits ``[B, C+1, T]``, boundary logits ``[B, 2, T]``, proposal
        scores ``s1 * s2`` of all windows concatenated ``[sum N]``)."""
        if masks is None:
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[-1]), dtype=torch.bool)
        feats = self.neck(inputs, masks)
        cls_logits, bnd_logits = self.seg_head(feats)
        scores = torch.cat([r['scores'] for r in self.roi_head.predict(feats, masks)])
        return cls_logits, bnd_logits, scores

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``inputs [B, C, T]``, ``masks [B, T]`` -> segmentation (class, start, end) and PDN
        (s1, s2) losses."""
        feats = self.neck(inputs, masks)
        gt_segments = [s.gt_instances.segments.to(inputs.device).float() for s in data_samples]
        gt_labels = [s.gt_instances.labels.to(inputs.device).long() for s in data_samples]
        cls_logits, bnd_logits = self.seg_head(feats)
        losses = self.seg_head.loss(cls_logits, bnd_logits, masks, gt_segments, gt_labels)
        losses.update(self.roi_head.loss(feats, masks, gt_segments))
        return losses

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, T]`` -> per window the top ``test_topk`` candidates."""
        feats = self.neck(inputs, masks)
        cls_logits, _ = self.seg_head(feats)
        probs = self.seg_head.probabilities(cls_logits)  # [W, T, C]
        out = []
        for w, res in enumerate(self.roi_head.predict(feats, masks)):
            segs, scores = res['segments'], res['scores']
            if self.class_source == 'segmentation':
                cls = proposal_class_scores(probs[w], segs)  # [N, C]
                out.append(decode_class_scores(segs, scores[:, None] * cls, self.test_topk,
                                               self.test_score_thr))
                continue
            keep = torch.nonzero(scores > self.test_score_thr).squeeze(1)
            if 0 < self.test_topk < keep.numel():
                keep = keep[scores[keep].topk(self.test_topk).indices]
            out.append(dict(segments=segs[keep], scores=scores[keep],
                            labels=torch.zeros_like(keep)))
        return out
