"""A2Net (Yang et al., TIP 2020): anchor-free and anchor-based heads on one temporal feature
pyramid, trained jointly; both heads' candidates are pooled per window and go through the
shared post-processing (per-class NMS, top-k per video)."""
from typing import Dict, List, Optional, Union

import torch

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..post_processing import decode_class_scores
from .base import BaseTADDetector


@MODELS.register_module()
class A2Net(BaseTADDetector):
    """Neck + anchor-based head + anchor-free head.

    Args:
        neck: pyramid config (``A2NetPyramidNeck``).
        anchor_head: anchor-based head config (``A2NetAnchorHead``), used when
            ``use_anchor_based``.
        anchor_free_head: anchor-free head config (``A2NetAnchorFreeHead``), used when
            ``use_anchor_free``.
        use_anchor_based / use_anchor_free: branch switches ("AB only" / "AF only" / both);
            a switched-off head is not built (no parameters, no FLOPs, no loss).
        num_classes: if given, overrides both heads' ``num_classes``.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector``.
        train_cfg: A2Net has no detector-level training options (the heads own assigner,
            sampler and losses); any key is an error.

    The loss weights (paper: ``30 AF_cls + AF_reg + AB_cls + 10 AB_overlap + 10 AB_reg``) are
    the ``loss_weight`` of each head's loss configs.
    """

    def __init__(self,
                 neck: dict,
                 anchor_head: Optional[dict] = None,
                 anchor_free_head: Optional[dict] = None,
                 use_anchor_based: bool = True,
                 use_anchor_free: bool = True,
                 num_classes: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        if not (use_anchor_based or use_anchor_free):
            raise ValueError('A2Net needs at least one of use_anchor_based / use_anchor_free')
        self.use_anchor_based = bool(use_anchor_based)
        self.use_anchor_free = bool(use_anchor_free)
        self.neck = MODELS.build(neck)

        def build_head(cfg, name):
            if cfg is None:
                raise ValueError(f'A2Net: {name} is switched on but its config is None')
            cfg = dict(cfg)
            if num_classes is not None:
                cfg['num_classes'] = num_classes
            return MODELS.build(cfg)

        self.anchor_head = build_head(anchor_head, 'anchor_head') if use_anchor_based else None
        self.anchor_free_head = (build_head(anchor_free_head, 'anchor_free_head')
                                 if use_anchor_free else None)

    def _heads(self):
        return [h for h in (self.anchor_head, self.anchor_free_head) if h is not None]

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> tuple:
        """Raw outputs: (anchor-based per-level maps or None, anchor-free (cls, reg) or None)."""
        feats = self.neck(inputs)
        ab = self.anchor_head(feats) if self.anchor_head is not None else None
        af = self.anchor_free_head(feats) if self.anchor_free_head is not None else None
        return ab, af

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``inputs [B, C, L]``, ``masks [B, L]`` -> the enabled heads' weighted losses."""
        feats = self.neck(inputs)
        gt_segments = [s.gt_instances.segments.to(inputs.device).float() for s in data_samples]
        gt_labels = [s.gt_instances.labels.to(inputs.device).long() for s in data_samples]
        losses = {}
        for head in self._heads():
            losses.update(head.loss(feats, masks, gt_segments, gt_labels))
        return losses

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """``inputs [W, C, L]`` -> per window the pooled (segment, class) candidates of both
        branches (each branch keeps its own ``test_topk`` above ``test_score_thr``)."""
        feats = self.neck(inputs)
        per_head = [(head, head.predict(feats, masks)) for head in self._heads()]
        out = []
        for w in range(inputs.shape[0]):
            parts = [decode_class_scores(res[w]['segments'], res[w]['cls_scores'],
                                         head.test_topk, head.test_score_thr)
                     for head, res in per_head]
            out.append({k: torch.cat([p[k] for p in parts]) for k in parts[0]})
        return out
