"""AFSD (Lin et al., CVPR 2021): anchor-free coarse proposals on a temporal pyramid, refined by
saliency-based boundary pooling on the pyramid level and on a frame-level feature, trained with
boundary consistency learning (activation-guided + boundary contrastive).

Two input modes: pre-extracted features ``[B, C, L]`` (``backbone=None``), or frames
``[B, 3, T, H, W]`` through a video backbone (e.g. ``mmaction.ResNet3d`` I3D) whose output is
averaged over space. In both modes the window length ``L`` is the input's temporal length and
all coordinates are window units (snippets, or frames end to end).
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

from ..post_processing import decode_class_scores
from ..task_modules.afsd_assigner import decode_refine_offsets, encode_refine_offsets
from ..task_modules.tiou import segment_tiou
from .base import BaseTADDetector


def _build_optional(cfg: Optional[dict], name: str):
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'AFSD: {name} must be a config dict with "type", got {cfg!r}')
    return MODELS.build(cfg)


@MODELS.register_module()
class AFSD(BaseTADDetector):
    """AFSD detector.

    Args:
        neck: ``AFSDPyramidNeck`` config.
        coarse_head: ``AFSDCoarseHead`` config.
        frame_branch: ``AFSDFrameLevelBranch`` config.
        refine_head: ``AFSDRefineHead`` config (needed when ``use_refinement``).
        backbone: video backbone config for the end-to-end mode (``None``: feature mode).
        num_classes: overrides the heads' ``num_classes`` if given.
        class_agnostic: train one "action" class (all labels -> 0; e.g. ActivityNet with an
            external video classifier in ``test_cfg.post_processing``); heads get 1 class.
        use_refinement: ``False`` = coarse-only baseline (no refinement head / quality).
        use_boundary_loss: activation-guided BCL on the frame-level feature.
        use_contrastive: boundary contrastive loss (an extra pass on spliced inputs).
        assigner: ``AFSDAssigner`` config.
        loss_*: loss configs (weights are their ``loss_weight``).
        contrastive_min_length: an action is split for the contrastive loss only if it covers
            at least this many input positions.
        test_topk / test_score_thr: (segment, class) candidates kept per window.
        refine_score_weight: weight ``w`` of the refined class probabilities in the score
            ``((1 - w) softmax(coarse) + w softmax(refined)) * sigmoid(quality)`` (AFSD: 0.5).
        use_quality_score: multiply the score by ``sigmoid(quality)`` (AFSD: True).
        refine_feature_grad: fraction of the refinement and boundary-consistency gradients that
            reaches the shared features (the pyramid via the frame-level branch, the coarse
            head's towers). 1.0 trains everything jointly as AFSD does; 0.0 detaches them, so
            the coarse part is trained as in the coarse-only baseline and the refinement head,
            frame-level branch and BCL learn on top of it.
        data_preprocessor / test_cfg / init_cfg: see ``BaseTADDetector``; ``train_cfg``: AFSD has
            no options there (any key is an error).
    """

    def __init__(self,
                 neck: dict,
                 coarse_head: dict,
                 frame_branch: dict,
                 refine_head: Optional[dict] = None,
                 backbone: Optional[dict] = None,
                 num_classes: Optional[int] = None,
                 class_agnostic: bool = False,
                 use_refinement: bool = True,
                 use_boundary_loss: bool = True,
                 use_contrastive: bool = True,
                 assigner: dict = dict(type='AFSDAssigner'),
                 loss_coarse_cls: dict = dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75),
                 loss_coarse_loc: dict = dict(type='TIoULoss', loss_weight=10.0),
                 loss_refine_cls: dict = dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75),
                 loss_refine_loc: dict = dict(type='L1Loss', loss_weight=10.0),
                 loss_quality: dict = dict(type='BinaryCrossEntropyLoss'),
                 loss_boundary: dict = dict(type='ActivationGuidedBoundaryLoss'),
                 loss_contrastive: dict = dict(type='BoundaryContrastiveLoss', margin=1.0,
                                               loss_weight=0.1),
                 contrastive_min_length: int = 4,
                 test_topk: int = 1000,
                 test_score_thr: float = 0.001,
                 refine_score_weight: float = 0.5,
                 use_quality_score: bool = True,
                 refine_feature_grad: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.class_agnostic = bool(class_agnostic)
        if self.class_agnostic:
            num_classes = 1
        self.use_refinement = bool(use_refinement)
        self.use_boundary_loss = bool(use_boundary_loss)
        self.use_contrastive = bool(use_contrastive)
        self.contrastive_min_length = int(contrastive_min_length)
        self.test_topk = int(test_topk)
        self.test_score_thr = float(test_score_thr)
        if not 0.0 <= refine_score_weight <= 1.0:
            raise ValueError('AFSD: refine_score_weight must be in [0, 1]')
        self.refine_score_weight = float(refine_score_weight)
        self.use_quality_score = bool(use_quality_score)
        if not 0.0 <= refine_feature_grad <= 1.0:
            raise ValueError('AFSD: refine_feature_grad must be in [0, 1]')
        self.refine_feature_grad = float(refine_feature_grad)

        def with_classes(cfg, name):
            if not isinstance(cfg, dict) or 'type' not in cfg:
                raise ValueError(f'AFSD: {name} must be a config dict with "type", got {cfg!r}')
            cfg = dict(cfg)
            if num_classes is not None:
                cfg['num_classes'] = num_classes
            return cfg

        self.backbone = _build_optional(backbone, 'backbone')
        self.neck = MODELS.build(neck)
        self.frame_branch = MODELS.build(frame_branch)
        self.coarse_head = MODELS.build(with_classes(coarse_head, 'coarse_head'))
        self.num_classes = self.coarse_head.num_classes
        if self.use_refinement:
            if refine_head is None:
                raise ValueError('AFSD: use_refinement=True needs refine_head')
            self.refine_head = MODELS.build(with_classes(refine_head, 'refine_head'))
            if self.refine_head.num_classes != self.num_classes:
                raise ValueError('AFSD: coarse_head and refine_head num_classes differ')
        else:
            self.refine_head = None
        self.assigner = TASK_UTILS.build(assigner)
        self.loss_coarse_cls = MODELS.build(loss_coarse_cls)
        self.loss_coarse_loc = MODELS.build(loss_coarse_loc)
        self.loss_refine_cls = MODELS.build(loss_refine_cls) if self.use_refinement else None
        self.loss_refine_loc = MODELS.build(loss_refine_loc) if self.use_refinement else None
        self.loss_quality = (MODELS.build(loss_quality)
                             if self.use_refinement and self.refine_head.use_quality else None)
        self.loss_boundary = MODELS.build(loss_boundary) if self.use_boundary_loss else None
        self.loss_contrastive = MODELS.build(loss_contrastive) if self.use_contrastive else None

    # -- network ------------------------------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Pyramid levels and the frame-level feature ``[B, C_f, L]``."""
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
        frame = self.frame_branch(self._shared(feats[0]), inputs.shape[2])
        return feats, frame

    def _shared(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as seen by the refinement side: same value, gradient scaled by
        ``refine_feature_grad`` (0 = detached)."""
        g = self.refine_feature_grad
        if g == 1.0:
            return x
        if g == 0.0:
            return x.detach()
        return x * g + x.detach() * (1.0 - g)

    def _run_heads(self, feats: List[torch.Tensor], frame: torch.Tensor, length: int) -> dict:
        """Raw outputs concatenated over levels (``N = sum T_l`` priors)."""
        loc_feats, cls_feats, dists, logits = self.coarse_head(feats)
        centres, segs = [], []
        for d in dists:
            t_l = d.shape[-1]
            unit = float(length) / t_l
            c = (torch.arange(t_l, device=d.device, dtype=d.dtype) + 0.5) * unit
            seg = torch.stack([c[None] - d[:, 0] * unit, c[None] + d[:, 1] * unit], dim=-1)
            centres.append(c)
            segs.append(seg)  # [B, T_l, 2]
        out = dict(centres=torch.cat(centres), coarse=torch.cat(segs, dim=1),
                   coarse_logits=torch.cat([x.transpose(1, 2) for x in logits], dim=1))
        if self.refine_head is not None:
            offsets, rlogits, quality = self.refine_head(
                [self._shared(f) for f in loc_feats], [self._shared(f) for f in cls_feats],
                frame, segs, length)
            out['offsets'] = torch.cat([x.transpose(1, 2) for x in offsets], dim=1)
            out['refine_logits'] = torch.cat([x.transpose(1, 2) for x in rlogits], dim=1)
            if quality[0] is not None:
                out['quality'] = torch.cat([x[:, 0] for x in quality], dim=1)
        return out

    @staticmethod
    def _prior_valid(centres: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``[B, N]``: priors whose centre falls on a real (unpadded) input position."""
        idx = centres.floor().long().clamp(0, masks.shape[1] - 1)
        return masks[:, idx]

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None) -> tuple:
        feats, frame = self.extract_feat(inputs)
        out = self._run_heads(feats, frame, inputs.shape[2])
        keys = ('coarse', 'coarse_logits', 'offsets', 'refine_logits', 'quality')
        return tuple(out[k] for k in keys if k in out)

    def forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None,
                data_samples: Optional[List[TADDataSample]] = None, mode: str = 'tensor'):
        if masks is None:  # time is dim 2 for both [B, C, L] and [B, 3, T, H, W]
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[2]), dtype=torch.bool)
        return super().forward(inputs, masks, data_samples, mode)

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
    def _gts(self, data_samples, device):
        segs, labels = [], []
        for s in data_samples:
            segs.append(s.gt_instances.segments.to(device).float().reshape(-1, 2))
            lab = s.gt_instances.labels.to(device).long()
            labels.append(torch.zeros_like(lab) if self.class_agnostic else lab)
        return segs, labels

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        length = inputs.shape[2]
        feats, frame = self.extract_feat(inputs)
        out = self._run_heads(feats, frame, length)
        gt_segs, gt_labels = self._gts(data_samples, inputs.device)
        centres, coarse = out['centres'], out['coarse']
        valid = self._prior_valid(centres, masks)
        B, N = valid.shape

        labels = coarse.new_zeros((B, N), dtype=torch.long)
        gt_inds = coarse.new_full((B, N), -1, dtype=torch.long)
        matched = coarse.new_zeros((B, N, 2))
        for b in range(B):
            lab, gi = self.assigner.assign_points(centres, gt_segs[b], gt_labels[b])
            gi = torch.where(valid[b], gi, torch.full_like(gi, -1))
            labels[b] = torch.where(valid[b], lab, torch.zeros_like(lab))
            gt_inds[b] = gi
            if gt_segs[b].numel():
                matched[b] = gt_segs[b][gi.clamp(min=0)]
        pos = gt_inds >= 0
        num_pos = max(float(pos.sum()), 1.0)

        losses = dict(
            loss_coarse_cls=self.loss_coarse_cls(out['coarse_logits'][valid], labels[valid],
                                                 avg_factor=num_pos),
            loss_coarse_loc=self.loss_coarse_loc(coarse[pos], matched[pos], avg_factor=num_pos))

        if self.refine_head is not None:
            coarse_d = coarse.detach()
            rlabels = torch.zeros_like(labels)
            for b in range(B):
                rlabels[b], _ = self.assigner.assign_refined(coarse_d[b], gt_inds[b], gt_segs[b],
                                                             gt_labels[b])
            rpos = rlabels > 0
            losses['loss_refine_cls'] = self.loss_refine_cls(
                out['refine_logits'][valid], rlabels[valid], avg_factor=num_pos)
            target = encode_refine_offsets(coarse_d[rpos], matched[rpos])
            losses['loss_refine_loc'] = self.loss_refine_loc(
                out['offsets'][rpos], target, avg_factor=max(float(rpos.sum()), 1.0))
            if 'quality' in out:
                refined = decode_refine_offsets(coarse_d, out['offsets'].detach())
                q_target = segment_tiou(refined[pos], matched[pos], aligned=True)
                losses['loss_quality'] = self.loss_quality(out['quality'][pos], q_target,
                                                           avg_factor=num_pos)

        if self.loss_boundary is not None:
            losses['loss_bcl'] = self._boundary_loss(frame, masks, gt_segs, length)
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
        bands = [self.assigner.boundary_bands(g, Lf, scale) for g in gt_segs]
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
        x, _, ranges = spliced
        _, frame = self.extract_feat(x)
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

    # -- inference ----------------------------------------------------------------------------
    def scores_and_segments(self, out: dict) -> Tuple[torch.Tensor, torch.Tensor]:
        """Final segments ``[B, N, 2]`` and class scores ``[B, N, C]`` (background removed):
        ``(softmax(coarse) + softmax(refined)) / 2 * sigmoid(quality)`` with refinement (see
        ``refine_score_weight`` / ``use_quality_score``), else ``softmax(coarse)``."""
        probs = out['coarse_logits'].softmax(-1)
        segs = out['coarse']
        if 'offsets' in out:
            w = self.refine_score_weight
            probs = (1.0 - w) * probs + w * out['refine_logits'].softmax(-1)
            segs = decode_refine_offsets(segs, out['offsets'])
            if 'quality' in out and self.use_quality_score:
                probs = probs * out['quality'].sigmoid()[..., None]
        return segs, probs[..., 1:]

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        feats, frame = self.extract_feat(inputs)
        out = self._run_heads(feats, frame, inputs.shape[2])
        valid = self._prior_valid(out['centres'], masks)
        segs, scores = self.scores_and_segments(out)
        return [decode_class_scores(segs[w][valid[w]], scores[w][valid[w]], self.test_topk,
                                    self.test_score_thr) for w in range(inputs.shape[0])]
