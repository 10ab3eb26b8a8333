"""A2Net (Yang et al., TIP 2020): anchor-free and anchor-based heads on one temporal feature
pyramid, trained jointly; both heads' candidates (each head's ``test_cfg.pre_nms_topk`` best
above ``test_cfg.score_thr``) are pooled per window (``BaseTADDetector.predict_window``) and go
through the shared post-processing (per-class NMS, top-k per video)."""
from typing import List, Optional, Union

import torch

from tadet.registry import MODELS

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
    the ``loss_weight`` of each head's loss configs. The losses, the tensor-mode outputs and
    the pooled candidates are those of the built heads, anchor-based first
    (``BaseTADDetector.loss_heads``).
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

    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[torch.Tensor]:
        """``inputs [B, C, L]`` -> the neck's pyramid, per level ``[B, c_l, T_l]``."""
        return self.neck(inputs)
