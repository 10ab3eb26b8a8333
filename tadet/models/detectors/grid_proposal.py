"""Shared detector of the (start, duration) grid proposal family (BMN, G-TAD, RCL): an
encoder, a proposal head that owns its temporal evaluation module and makes class-agnostic
proposals, and an optional per-snippet classification head giving class labels where no
external video-level classifier is used (THUMOS14)."""
from typing import List, Optional, Union

import torch

from tadet.registry import MODELS, TASK_UTILS

from .base import BaseTADDetector


@MODELS.register_module()
class GridProposalDetector(BaseTADDetector):
    """Encoder + proposal head (+ snippet classification head).

    Training: the sum of the heads' losses (the proposal head's include its TEM's), in
    construction order. Inference per window: the proposal head's class-agnostic proposals
    (``predict``); ``class_fusion`` (``ProposalClassFusion``) turns them into candidates: with
    ``cls_head``, (proposal, class) pairs scored ``score * mean p(class)`` inside the proposal;
    without, label 0 for ``test_cfg.external_classifier``. Either way the best
    ``test_cfg.pre_nms_topk`` (default -1: all) above ``test_cfg.score_thr`` (default 0) are
    kept. (Soft-)NMS and the per-video top-k are the shared post-processing's.

    Args:
        encoder: module config, ``forward(x [B, C_in, T], mask [B, T]) -> [B, C, T]``.
        proposal_head: ``BMHead`` / ``GTADHead`` / ``RCLHead`` config (a ``BaseTADHead``
            whose ``predict`` gives class-agnostic proposals; it owns its ``tem_head``).
        cls_head: optional ``SnippetClassificationHead`` config.
        class_fusion: ``ProposalClassFusion`` config.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector`` (the heads' test
            keys: e.g. ``peak_ratio`` / ``max_proposals`` of the grid heads,
            ``use_boundary_score`` of ``RCLHead``); ``train_cfg``: no detector-level options
            (the heads own targets and losses).

    Migration from the per-method signatures: ``bm_head`` / ``gtad_head`` / ``roi_head`` ->
    ``proposal_head`` and the detector's ``tem_head`` -> ``proposal_head.tem_head`` (old
    checkpoints load through ``STATE_DICT_RENAMES``); ``peak_ratio`` / ``max_proposals`` /
    ``use_boundary_score`` -> ``test_cfg``; ``test_topk`` / ``test_score_thr`` ->
    ``test_cfg.pre_nms_topk`` / ``score_thr``.
    """

    STATE_DICT_RENAMES = (('tem_head.', 'proposal_head.tem_head.'),)

    def __init__(self,
                 encoder: dict,
                 proposal_head: dict,
                 cls_head: Optional[dict] = None,
                 class_fusion: dict = dict(type='ProposalClassFusion'),
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.encoder = MODELS.build(encoder)
        self.proposal_head = MODELS.build(proposal_head)
        self.cls_head = None if cls_head is None else MODELS.build(cls_head)
        self.class_fusion = TASK_UTILS.build(class_fusion)

    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Encoder features ``[B, C, T]`` of ``inputs [B, C_in, T]``."""
        return self.encoder(inputs, masks)

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, L]``, ``masks [W, L]`` -> per window dict(segments, scores,
        labels)."""
        feats = self.extract_feat(inputs, masks)
        proposals = self.proposal_head.predict(feats, masks)
        probs = (None if self.cls_head is None
                 else self.cls_head.probabilities(self.cls_head(feats, masks)))  # [W, T, C]
        topk = int(self.test_cfg.get('pre_nms_topk', -1))
        score_thr = float(self.test_cfg.get('score_thr', 0.0))
        return [self.class_fusion(p['segments'], p['scores'],
                                  None if probs is None else probs[w], int(masks[w].sum()),
                                  topk, score_thr)
                for w, p in enumerate(proposals)]
