"""AFSD (Lin et al., CVPR 2021): anchor-free coarse proposals on a temporal pyramid, refined by
saliency-based boundary pooling on the pyramid level and on a frame-level feature, trained with
boundary consistency learning (activation-guided + boundary contrastive).

The detector extracts the pyramid and the frame-level feature; :class:`AFSDHead` owns the
coarse and refinement networks, their assignment, losses and decoding. What stays here needs
the frame-level branch or a second feature pass: the activation-guided BCL and the boundary
contrastive loss (on spliced inputs). Any pyramid head that follows the head contract can
replace ``AFSDHead`` by config (``model.head=dict(type=...)``): a head without
``READS_FRAME_FEATURE`` gets the pyramid levels only, and the AFSD-only options
(``class_agnostic``, ``use_refinement``, ``refine_feature_grad``) are not handed to it.

Two input modes: pre-extracted features ``[B, C, L]`` (``backbone=None``), or frames
``[B, 3, T, H, W]`` through a video backbone (e.g. ``mmaction.ResNet3d`` I3D) whose output is
averaged over space. In both modes the window length ``L`` is the input's temporal length and
all coordinates are window units (snippets, or frames end to end).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..dense_heads.afsd_head import scale_grad
from ..dense_heads.base_tad_head import unpack_gt_instances
from ..roi_heads.afsd_refine_head import afsd_boundary_regions
from ..task_modules.afsd_assigner import afsd_boundary_bands
from ..task_modules.afsd_splice import (range_regions, splice_background_chunk,
                                        splice_background_positions)
from .base import BaseTADDetector

# detector options the head reads too: set on the detector, handed to the head
HEAD_ARGS = ('num_classes', 'class_agnostic', 'use_refinement', 'refine_feature_grad')
CONTRASTIVE_MODES = ('boundary', 'range')


@MODELS.register_module()
class AFSD(BaseTADDetector):
    """AFSD detector.

    Args:
        neck: ``AFSDPyramidNeck`` config.
        frame_branch: ``AFSDFrameLevelBranch`` config.
        head: ``AFSDHead`` config (coarse / refinement networks, assigner, coder, losses).
        backbone: video backbone config for the end-to-end mode (``None``: feature mode).
        num_classes: overrides the heads' ``num_classes`` if given.
        class_agnostic: train one "action" class (all labels -> 0; e.g. ActivityNet with an
            external video classifier in ``test_cfg.external_classifier``); heads get 1 class.
        use_refinement: ``False`` = coarse-only baseline (no refinement head / quality).
        use_boundary_loss: activation-guided BCL on the frame-level feature (and on level 0,
            see ``bcl_level0_weight``).
        bcl_level0_weight: weight of the activation-guided BCL on the level-0 start/end
            boundary features of the loc and cls refinement branches (targets: the frame-level
            bands, nearest-downsampled), added to the frame-level term. AFSD's train.py: 0.1
            each; 0 = frame-level only (this toolbox's earlier behaviour). Needs the
            refinement head (a coarse-only model has no such features: frame-level only).
        use_contrastive: boundary contrastive loss (an extra pass on spliced inputs).
        contrastive_mode: ``'boundary'`` (AFSD's code): one contiguous background chunk moved
            into a random cut of an action (``splice_background_chunk``), features
            boundary-max-pooled over the boundary regions of A1, A2 and the background
            (as the refinement head's regions); ``'range'`` (earlier): background positions
            inserted at the middle of the longest action, pooled over the whole ranges.
        contrastive_weights: triplet weights of the features read, in order: frame-level
            feature, level-0 loc boundary feature, level-0 cls boundary feature (AFSD:
            ``(1, 0.1, 0.1)``); ``(1.0,)`` = frame-level only (earlier). The level-0 terms need
            the refinement head (a coarse-only model uses the frame-level term only).
        loss_boundary / loss_contrastive: the two BCL loss configs.
        band_ratio / min_band: BCL boundary band width ``max(band_ratio * w, min_band)``
            (frame-level positions; AFSD: 0.1 and 2), see :func:`afsd_boundary_bands`.
        contrastive_min_length: an action is split for the contrastive loss only if it covers
            at least this many input positions.
        refine_feature_grad: fraction of the refinement and boundary-consistency gradients that
            reaches the shared features (the pyramid via the frame-level branch, the coarse
            head's towers). 1.0 trains everything jointly as AFSD does; 0.0 detaches them, so
            the coarse part is trained as in the coarse-only baseline and the refinement head,
            frame-level branch and BCL learn on top of it.
        backbone_taps: end to end, the backbone outputs (indices into its tuple of outputs,
            e.g. ``out_indices=(2, 3)`` of ResNet3d -> ``(0, 1)``) that feed a neck built
            with one ``in_channels`` per tap (AFSD: Mixed_4f and Mixed_5c of I3D); ``None``:
            the last output only.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector`` (plus the head's
            ``refine_score_weight`` / ``use_quality_score``, see ``AFSDHead``); ``train_cfg``:
            AFSD has no options there (any key is an error).
    """

    # the coarse / refine networks moved into the head
    STATE_DICT_RENAMES = (('coarse_head.', 'head.coarse_head.'),
                          ('refine_head.', 'head.refine_head.'))
    # classifiers of that old layout have the background logit first; it is now last
    OLD_BACKGROUND_FIRST = ('coarse_head.cls_out.', 'refine_head.cls_out.')

    def __init__(self,
                 neck: dict,
                 frame_branch: dict,
                 head: dict,
                 backbone: Optional[dict] = None,
                 num_classes: Optional[int] = None,
                 class_agnostic: bool = False,
                 use_refinement: bool = True,
                 use_boundary_loss: bool = True,
                 use_contrastive: bool = True,
                 bcl_level0_weight: float = 0.1,
                 contrastive_mode: str = 'boundary',
                 contrastive_weights: Sequence[float] = (1.0, 0.1, 0.1),
                 backbone_taps: Optional[Sequence[int]] = None,
                 loss_boundary: dict = dict(type='ActivationGuidedBoundaryLoss'),
                 loss_contrastive: dict = dict(type='BoundaryContrastiveLoss', margin=1.0,
                                               loss_weight=0.1),
                 band_ratio: float = 0.1,
                 min_band: float = 2.0,
                 contrastive_min_length: int = 4,
                 refine_feature_grad: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        for name, cfg in (('neck', neck), ('frame_branch', frame_branch), ('head', head),
                          ('backbone', backbone)):
            if cfg is not None and (not isinstance(cfg, dict) or 'type' not in cfg):
                raise ValueError(f'AFSD: {name} must be a config dict with "type", got {cfg!r}')
        twice = sorted(set(HEAD_ARGS) & set(head))
        if twice:
            raise ValueError(f'AFSD: set {twice} on the detector (model.<key>), not in '
                             f'model.head')
        self.class_agnostic = bool(class_agnostic)
        self.use_refinement = bool(use_refinement)
        self.use_boundary_loss = bool(use_boundary_loss)
        self.use_contrastive = bool(use_contrastive)
        self.band_ratio = float(band_ratio)
        self.min_band = float(min_band)
        self.contrastive_min_length = int(contrastive_min_length)
        if bcl_level0_weight < 0:
            raise ValueError('AFSD: bcl_level0_weight must be >= 0')
        self.bcl_level0_weight = float(bcl_level0_weight)
        if contrastive_mode not in CONTRASTIVE_MODES:
            raise ValueError(f'AFSD: contrastive_mode must be one of {CONTRASTIVE_MODES}, got '
                             f'{contrastive_mode!r}')
        self.contrastive_mode = contrastive_mode
        weights = tuple(float(w) for w in contrastive_weights)
        if len(weights) not in (1, 3) or min(weights) < 0:
            raise ValueError('AFSD: contrastive_weights must be 1 or 3 non-negative weights '
                             '(frame-level, level-0 loc, level-0 cls)')
        self.contrastive_weights = weights
        self.backbone_taps = None if backbone_taps is None else tuple(int(i) for i in
                                                                      backbone_taps)
        if not 0.0 <= refine_feature_grad <= 1.0:
            raise ValueError('AFSD: refine_feature_grad must be in [0, 1]')
        self.refine_feature_grad = float(refine_feature_grad)

        self.backbone = None if backbone is None else MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        n_in = getattr(self.neck, 'num_inputs', 1)
        if (backbone is None and n_in != 1) or (backbone is not None and
                                                 len(self.backbone_taps or (-1,)) != n_in):
            raise ValueError(f'AFSD: the neck takes {n_in} input(s); backbone_taps '
                             f'{self.backbone_taps} (end to end only) must name as many')
        self.frame_branch = MODELS.build(frame_branch)
        self.head_reads_frame = bool(getattr(MODELS.get(head['type']), 'READS_FRAME_FEATURE',
                                             False))
        if self.head_reads_frame:
            head = dict(head, num_classes=num_classes, class_agnostic=self.class_agnostic,
                        use_refinement=self.use_refinement,
                        refine_feature_grad=self.refine_feature_grad)
        elif num_classes is not None or self.class_agnostic:
            head = dict(head, num_classes=1 if self.class_agnostic else num_classes)
        self.head = MODELS.build(head)
        self.num_classes = self.head.num_classes
        self.loss_boundary = MODELS.build(loss_boundary) if self.use_boundary_loss else None
        self.loss_contrastive = MODELS.build(loss_contrastive) if self.use_contrastive else None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for old in self.OLD_BACKGROUND_FIRST:
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                t = state_dict[key]
                state_dict[key] = torch.cat([t[1:], t[:1]])  # background row 0 -> last
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- network ------------------------------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor):
        """What the head reads: (pyramid levels ``[B, C, T_l]``, frame-level feature
        ``[B, C_f, L]``) for ``AFSDHead``, the levels alone for a plain pyramid head."""
        levels, frame = self.pyramid_and_frame(inputs, masks)
        return (levels, frame) if self.head_reads_frame else levels

    def pyramid_and_frame(self, inputs: torch.Tensor,
                          masks: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Pyramid levels ``[B, C, T_l]`` and the frame-level feature ``[B, C_f, L]``."""
        x = inputs
        if self.backbone is not None:
            if inputs.dim() != 5:
                raise ValueError(f'AFSD with a backbone takes frames [B, 3, T, H, W], got '
                                 f'{tuple(inputs.shape)}')
            x = self.backbone(inputs)
            outs = list(x) if isinstance(x, (tuple, list)) else [x]
            taps = [outs[i] for i in self.backbone_taps or (-1,)]
            x = [t.mean(dim=(-2, -1)) for t in taps]  # pool space -> [B, C, T']
            x = x[0] if len(x) == 1 else x
        elif inputs.dim() != 3:
            raise ValueError(f'AFSD (feature mode) takes [B, C, L], got {tuple(inputs.shape)}')
        feats = self.neck(x)
        frame = self.frame_branch(scale_grad(feats[0], self.refine_feature_grad),
                                  inputs.shape[2])
        return feats, frame

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> tuple:
        """Tensor mode (FLOPs): the head's outputs as a tuple (coarse, coarse_logits, offsets,
        refine_logits, quality; those of the built branches)."""
        if masks is None:
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[2]), dtype=torch.bool)
        if not self.head_reads_frame:
            return super()._forward(inputs, masks)
        out = self.head(self.extract_feat(inputs, masks), masks)
        keys = ('coarse', 'coarse_logits', 'offsets', 'refine_logits', 'quality')
        return tuple(out[k] for k in keys if k in out)

    # -- training -----------------------------------------------------------------------------
    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """The head's losses, then the boundary consistency losses."""
        feats, frame = self.pyramid_and_frame(inputs, masks)
        outs = self.head((feats, frame) if self.head_reads_frame else feats, masks)
        losses = self.head.loss_by_feat(outs, masks, data_samples)
        if self.loss_boundary is None and self.loss_contrastive is None:
            return losses
        gt_segs, _ = unpack_gt_instances(data_samples, inputs.device, class_agnostic=True)
        if self.loss_boundary is not None:
            level0 = [outs[k] for k in ('loc_boundary0', 'cls_boundary0')
                      if isinstance(outs, dict) and k in outs]
            losses['loss_bcl'] = self._boundary_loss(frame, masks, gt_segs, inputs.shape[2],
                                                     level0)
        if self.loss_contrastive is not None:
            losses['loss_contrastive'] = self._contrastive_loss(inputs, masks, gt_segs)
        return losses

    def _frame_masks(self, masks: torch.Tensor, frame_len: int) -> torch.Tensor:
        if masks.shape[1] == frame_len:
            return masks
        return F.interpolate(masks[:, None].float(), size=frame_len, mode='nearest')[:, 0] > 0.5

    def _bce_halves(self, feat: torch.Tensor, start: torch.Tensor, end: torch.Tensor,
                    weight: torch.Tensor) -> torch.Tensor:
        half = feat.shape[1] // 2
        return (self.loss_boundary(feat[:, :half], start, weight) +
                self.loss_boundary(feat[:, half:], end, weight))

    def _boundary_loss(self, frame: torch.Tensor, masks: torch.Tensor, gt_segs: list,
                       length: int, level0: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Activation-guided BCL: start (end) half of the frame-level feature ``[B, C_f, L_f]``
        vs gt bands, plus ``bcl_level0_weight`` x the same on each level-0 boundary feature
        ``[B, 2F, T_0]`` with the bands nearest-downsampled (AFSD's ``scores_``)."""
        Lf = frame.shape[-1]
        bands = [afsd_boundary_bands(g, Lf, float(length) / Lf, self.band_ratio, self.min_band)
                 for g in gt_segs]
        start = torch.stack([s for s, _ in bands])
        end = torch.stack([e for _, e in bands])
        weight = self._frame_masks(masks, Lf).float()
        loss = self._bce_halves(frame, start, end, weight)
        if self.bcl_level0_weight == 0:
            return loss
        for feat in level0:
            t0 = feat.shape[-1]
            s0, e0, w0 = (F.interpolate(v[:, None], size=t0, mode='nearest')[:, 0]
                          for v in (start, end, weight))
            loss = loss + self.bcl_level0_weight * self._bce_halves(feat, s0, e0, w0)
        return loss

    def _contrastive_features(self, x: torch.Tensor, masks: torch.Tensor) -> List[torch.Tensor]:
        """Features the boundary contrastive loss reads on spliced inputs: the frame-level
        feature, then (with 3 weights and a refinement head) the level-0 loc / cls boundary
        features."""
        feats, frame = self.pyramid_and_frame(x, masks)
        maps = [frame]
        if len(self.contrastive_weights) == 3 and getattr(self.head, 'refine_head', None):
            maps.extend(self.head.level0_boundary_features(feats[0]))
        return maps

    def _contrastive_regions(self, segs: torch.Tensor, unit: float) -> torch.Tensor:
        if self.contrastive_mode == 'range':
            return range_regions(segs, unit)
        refine = getattr(self.head, 'refine_head', None)
        ratios = ((refine.inner_ratio, refine.outer_ratio, refine.min_ext) if refine is not None
                  else ())
        return afsd_boundary_regions(segs, unit, *ratios)

    def _contrastive_loss(self, inputs: torch.Tensor, masks: torch.Tensor,
                          gt_segs: list) -> torch.Tensor:
        """Triplets per spliced sample and feature map: anchor = end half pooled at A1,
        positive = start half at A2, negative = start half at the background (AFSD's
        ``BDNet.forward(ssl=True)``); ``sum_i w_i * triplet_i``."""
        from tadet.ops import boundary_max_pool_1d
        splice = (splice_background_chunk if self.contrastive_mode == 'boundary'
                  else splice_background_positions)
        spliced = splice(inputs, masks, gt_segs, self.contrastive_min_length)
        if spliced is None:  # keep every parameter in the graph
            return sum(p.sum() for p in self.frame_branch.parameters()) * 0.0
        x, smasks, segs, _ = spliced
        total = 0.0
        for w, feat in zip(self.contrastive_weights, self._contrastive_features(x, smasks)):
            unit = float(inputs.shape[2]) / feat.shape[-1]
            pooled = boundary_max_pool_1d(feat, self._contrastive_regions(segs, unit))
            half = feat.shape[1] // 2  # pooled [B', C, 3]: A1, A2, background
            total = total + w * self.loss_contrastive(pooled[:, half:, 0], pooled[:, :half, 1],
                                                      pooled[:, :half, 2])
        return total
