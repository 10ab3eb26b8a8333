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
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from tadet.registry import MODELS
from tadet.structures import TADDataSample

from ..dense_heads.afsd_head import scale_grad
from ..dense_heads.base_tad_head import unpack_gt_instances
from ..task_modules.afsd_assigner import afsd_boundary_bands
from .base import BaseTADDetector

# detector options the head reads too: set on the detector, handed to the head
HEAD_ARGS = ('num_classes', 'class_agnostic', 'use_refinement', 'refine_feature_grad')


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
        use_boundary_loss: activation-guided BCL on the frame-level feature.
        use_contrastive: boundary contrastive loss (an extra pass on spliced inputs).
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
        if not 0.0 <= refine_feature_grad <= 1.0:
            raise ValueError('AFSD: refine_feature_grad must be in [0, 1]')
        self.refine_feature_grad = float(refine_feature_grad)

        self.backbone = None if backbone is None else MODELS.build(backbone)
        self.neck = MODELS.build(neck)
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
            if isinstance(x, (tuple, list)):
                x = x[-1]
            x = x.mean(dim=(-2, -1))  # pool space -> [B, C, T']
        elif inputs.dim() != 3:
            raise ValueError(f'AFSD (feature mode) takes [B, C, L], got {tuple(inputs.shape)}')
        feats = self.neck(x)
        frame = self.frame_branch(scale_grad(feats[0], self.refine_feature_grad),
                                  inputs.shape[2])
        return feats, frame

    def forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None,
                data_samples: Optional[List[TADDataSample]] = None, mode: str = 'tensor'):
        if masks is None:  # time is dim 2 for both [B, C, L] and [B, 3, T, H, W]
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[2]), dtype=torch.bool)
        return super().forward(inputs, masks, data_samples, mode)

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

    def _cut_windows(self, inputs: torch.Tensor, masks: torch.Tensor) -> list:
        if inputs.dim() == 3:
            return super()._cut_windows(inputs, masks)
        out = []  # frames: windows along dim 2 of [B, 3, T, H, W]
        for b in range(inputs.shape[0]):
            if self.sliding_window is None:
                out.append((b, 0, inputs[b], masks[b]))
                continue
            size = self.sliding_window.size
            for start in self.sliding_window.starts(int(masks[b].sum())):
                clip = inputs[b, :, start:start + size]
                mask = masks[b, start:start + size]
                pad = size - clip.shape[1]
                if pad > 0:
                    clip = F.pad(clip, (0, 0, 0, 0, 0, pad))
                    mask = F.pad(mask, (0, pad), value=False)
                out.append((b, start, clip, mask))
        return out

    # -- training -----------------------------------------------------------------------------
    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """The head's losses, then the boundary consistency losses."""
        feats, frame = self.pyramid_and_frame(inputs, masks)
        losses = self.head.loss((feats, frame) if self.head_reads_frame else feats, masks,
                                data_samples)
        if self.loss_boundary is None and self.loss_contrastive is None:
            return losses
        gt_segs, _ = unpack_gt_instances(data_samples, inputs.device, class_agnostic=True)
        if self.loss_boundary is not None:
            losses['loss_bcl'] = self._boundary_loss(frame, masks, gt_segs, inputs.shape[2])
        if self.loss_contrastive is not None:
            losses['loss_contrastive'] = self._contrastive_loss(inputs, masks, gt_segs)
        return losses

    def _frame_masks(self, masks: torch.Tensor, frame_len: int) -> torch.Tensor:
        if masks.shape[1] == frame_len:
            return masks
        return F.interpolate(masks[:, None].float(), size=frame_len, mode='nearest')[:, 0] > 0.5

    def _boundary_loss(self, frame: torch.Tensor, masks: torch.Tensor, gt_segs: list,
                       length: int) -> torch.Tensor:
        """Activation-guided BCL: start (end) half of the frame-level feature vs gt bands."""
        B, C, Lf = frame.shape
        scale = float(length) / Lf
        bands = [afsd_boundary_bands(g, Lf, scale, self.band_ratio, self.min_band)
                 for g in gt_segs]
        start = torch.stack([s for s, _ in bands])
        end = torch.stack([e for _, e in bands])
        weight = self._frame_masks(masks, Lf).float()
        half = C // 2
        return (self.loss_boundary(frame[:, :half], start, weight) +
                self.loss_boundary(frame[:, half:], end, weight))

    def _splice(self, inputs: torch.Tensor, masks: torch.Tensor, gt_segs: list):
        """Boundary contrastive inputs: in each sample split its longest action A at its middle
        and insert background positions (as many as the shortest action is long), giving
        A1 | background | A2. Returns spliced inputs, masks and ``[B', 3, 2]`` integer ranges
        ``[start, end)`` of A1, background, A2 (input positions), or ``None``."""
        length = inputs.shape[2]
        idx_list, mask_list, ranges, src = [], [], [], []
        pos = torch.arange(length, device=inputs.device)
        for b, g in enumerate(gt_segs):
            if g.numel() == 0:
                continue
            n_valid = int(masks[b].sum())
            g = g.clamp(0, n_valid)
            first = torch.ceil(g[:, 0] - 0.5).long()  # positions whose centre lies in the gt
            last = torch.floor(g[:, 1] - 0.5).long() + 1
            lens = last - first
            k = int(lens.argmax())
            s, e = int(first[k]), int(last[k])
            if e - s < self.contrastive_min_length:
                continue
            centres = pos.float() + 0.5
            inside = ((centres[:, None] >= g[None, :, 0]) &
                      (centres[:, None] <= g[None, :, 1])).any(1)
            background = (~inside & masks[b]).nonzero().squeeze(1)
            bl = max(int(torch.round((g[:, 1] - g[:, 0]).min())), 1)
            if background.numel() < bl:
                continue
            off = int(torch.randint(0, background.numel() - bl + 1, (1,)))
            bg = background[off:off + bl]
            m = s + (e - s) // 2
            if m + bl >= length:  # A2 would be cropped away
                continue
            idx = torch.cat([pos[:m], bg, pos[m:]])[:length]
            idx_list.append(idx)
            mask_list.append(masks[b][idx])
            src.append(b)
            ranges.append([[s, m], [m, m + bl], [m + bl, min(e + bl, length)]])
        if not src:
            return None
        spliced = torch.stack([inputs[b].index_select(1, i) for b, i in zip(src, idx_list)])
        return spliced, torch.stack(mask_list), torch.tensor(ranges, device=inputs.device)

    def _contrastive_loss(self, inputs: torch.Tensor, masks: torch.Tensor,
                          gt_segs: list) -> torch.Tensor:
        from tadet.ops import boundary_max_pool_1d
        spliced = self._splice(inputs, masks, gt_segs)
        if spliced is None:  # keep every parameter in the graph
            return sum(p.sum() for p in self.frame_branch.parameters()) * 0.0
        x, smasks, ranges = spliced
        _, frame = self.pyramid_and_frame(x, smasks)
        scale = frame.shape[-1] / float(inputs.shape[2])
        r = ranges.float() * scale
        lo = r[..., 0].floor()
        hi = torch.maximum(torch.ceil(r[..., 1]) - 1, lo)  # inclusive last index
        a1, bg, a2 = (torch.stack([lo[:, i], hi[:, i]], -1) for i in range(3))
        segs = torch.stack([torch.cat([a2, a1], -1), torch.cat([bg, bg], -1)], dim=1)
        pooled = boundary_max_pool_1d(frame, segs)  # [B', C, 2]
        half = frame.shape[1] // 2
        positive = pooled[:, :half, 0]  # start half over A2
        anchor = pooled[:, half:, 0]  # end half over A1
        negative = pooled[:, :half, 1]  # start half over the background
        return self.loss_contrastive(anchor, positive, negative)
