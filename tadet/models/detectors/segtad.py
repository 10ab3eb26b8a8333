"""SegTAD (Zhao et al.): temporal action detection as 1D semantic segmentation (1D-SSN: encoder,
PAG module, decoder; per-snippet classes and start / end) followed by a proposal detection
network (sparse proposals, proposal graph, tIoU scores). Inference scores each proposal
``s1 * s2 * class score`` and sends the candidates through the shared post-processing
(soft-NMS, top 100)."""
from typing import List, Optional, Union

import torch

from tadet.registry import MODELS, TASK_UTILS

from .base import BaseTADDetector

CLASS_SOURCES = ('segmentation', 'none')
# per-window candidate cut when test_cfg leaves it out (the former test_topk / test_score_thr
# defaults)
DEFAULT_PRE_NMS_TOPK = 1000
DEFAULT_SCORE_THR = 0.0


@MODELS.register_module()
class SegTAD(BaseTADDetector):
    """1D-SSN neck (``extract_feat``) + segmentation head + PDN; the loss is the sum of both
    heads' losses.

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
            ``test_cfg.external_classifier`` (ActivityNet).
        class_fusion: ``ProposalClassFusion`` config (the one proposal x class-score fusion;
            default ``clip_to_valid=True``). SegTAD's proposals end at the window's valid
            length, so they never read padded snippets and ``clip_to_valid`` True and False
            give the same numbers (both checked bit-equal to the pre-refactor fingerprints of
            the synthetic THUMOS14 configs); True is kept as the safe choice.
        data_preprocessor / train_cfg / init_cfg: see ``BaseTADDetector`` (SegTAD has no
            ``train_cfg`` options: the heads own their targets, sampler and losses).
        test_cfg: see ``BaseTADDetector``; ``pre_nms_topk`` (default 1000) / ``score_thr``
            (default 0.0) cut each window's candidates when proposals are classified.
    """

    def __init__(self,
                 neck: dict,
                 seg_head: dict,
                 roi_head: dict,
                 num_classes: Optional[int] = None,
                 class_source: str = 'segmentation',
                 class_fusion: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        if class_source not in CLASS_SOURCES:
            raise ValueError(f'SegTAD: class_source must be one of {CLASS_SOURCES}, '
                             f'got {class_source!r}')
        self.class_source = class_source
        self.class_fusion = TASK_UTILS.build(
            class_fusion or dict(type='ProposalClassFusion', clip_to_valid=True))
        self.neck = MODELS.build(neck)
        seg_head = dict(seg_head)
        if num_classes is not None:
            seg_head['num_classes'] = num_classes
        self.seg_head = MODELS.build(seg_head)
        self.roi_head = MODELS.build(roi_head)

    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """1D-SSN: ``inputs [B, C_in, T]``, ``masks [B, T]`` -> ``[B, channels, T]``."""
        return self.neck(inputs, masks)

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, T]`` -> per window the best ``test_cfg.pre_nms_topk`` candidates:
        the PDN's proposals classified by the segmentation head (``class_source``)."""
        feats = self.extract_feat(inputs, masks)
        probs = None
        if self.class_source == 'segmentation':
            cls_logits, _ = self.seg_head(feats, masks)
            probs = self.seg_head.probabilities(cls_logits)  # [W, T, C]
        topk = int(self.test_cfg.get('pre_nms_topk', DEFAULT_PRE_NMS_TOPK))
        thr = float(self.test_cfg.get('score_thr', DEFAULT_SCORE_THR))
        return [self.class_fusion(res['segments'], res['scores'],
                                  None if probs is None else probs[w], int(masks[w].sum()),
                                  topk, thr)
                for w, res in enumerate(self.roi_head.predict(feats, masks))]
