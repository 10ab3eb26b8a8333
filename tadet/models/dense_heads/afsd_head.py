"""AFSD's head: coarse anchor-free proposals on the pyramid, refined by saliency-based boundary
pooling, with their assignment, losses and decoding (the head contract of
:class:`BaseTADHead`)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

from ..post_processing import decode_class_scores
from ..task_modules.prior_generators import prior_valid_mask
from ..task_modules.tiou import segment_tiou
from .base_tad_head import CANDIDATE_TEST_KEYS, BaseTADHead, unpack_gt_instances


def scale_grad(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``x`` with the same value and its gradient scaled by ``factor`` (0 = detached)."""
    if factor == 1.0:
        return x
    if factor == 0.0:
        return x.detach()
    return x * factor + x.detach() * (1.0 - factor)


REFINE_CLS_AVG = ('refined', 'coarse')


def _sub_cfg(cfg: Any, name: str, num_classes: Optional[int]) -> dict:
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'AFSDHead: {name} must be a config dict with "type", got {cfg!r}')
    cfg = dict(cfg)
    if num_classes is not None:
        cfg['num_classes'] = num_classes
    return cfg


@MODELS.register_module()
class AFSDHead(BaseTADHead):
    """AFSD's coarse head (``AFSDCoarseHead``) and refinement head (``AFSDRefineHead``).

    Coarse priors are the positions of every pyramid level (centre ``(i + 0.5) * L / T_l``);
    each predicts distances to its start and end and ``num_classes + 1`` logits (background
    last, at ``num_classes``). The refinement head pools the coarse proposals' boundaries on
    the level and on the frame-level feature and predicts offsets (``refine_coder``), logits
    and a quality logit.

    Test score of a refined proposal: ``((1 - w) softmax(coarse) + w softmax(refined)) *
    sigmoid(quality)`` with ``w = test_cfg.refine_score_weight`` (AFSD: 0.5) and the quality
    factor only with ``test_cfg.use_quality_score`` (AFSD: True); ``softmax(coarse)`` without
    refinement. Candidates: the ``test_cfg.pre_nms_topk`` best (proposal, class) pairs above
    ``test_cfg.score_thr``.

    Args:
        coarse_head / refine_head: configs of the two networks (``refine_head`` needed when
            ``use_refinement``).
        num_classes: overrides both networks' ``num_classes`` if given.
        class_agnostic: every gt label is trained as class 0.
        use_refinement: ``False`` = coarse-only baseline (no refinement network / quality).
        refine_feature_grad: fraction of the refinement gradients that reaches the coarse
            head's towers (see ``AFSD``).
        assigner: ``AFSDAssigner`` config; refine_coder: ``AFSDRefineOffsetCoder`` config.
        loss_*: loss configs (weights are their ``loss_weight``).
        refine_cls_avg: what the refined-class loss is averaged over: ``'refined'`` (the
            number of refined positives, the authors' ``PN`` in ``multisegment_loss.py``) or
            ``'coarse'`` (the number of coarse positives, this toolbox's earlier choice).
        init_cfg: mmengine init config.
    """

    TEST_CFG_KEYS = CANDIDATE_TEST_KEYS | {'refine_score_weight', 'use_quality_score'}

    # feats = (pyramid levels, frame-level feature); a plain pyramid head gets the levels only
    READS_FRAME_FEATURE = True

    def __init__(self,
                 coarse_head: dict,
                 refine_head: Optional[dict] = None,
                 num_classes: Optional[int] = None,
                 class_agnostic: bool = False,
                 use_refinement: bool = True,
                 refine_feature_grad: float = 1.0,
                 assigner: dict = dict(type='AFSDAssigner'),
                 refine_coder: dict = dict(type='AFSDRefineOffsetCoder'),
                 loss_coarse_cls: dict = dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75),
                 loss_coarse_loc: dict = dict(type='TIoULoss', loss_weight=10.0),
                 loss_refine_cls: dict = dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75),
                 loss_refine_loc: dict = dict(type='L1Loss', loss_weight=10.0),
                 loss_quality: dict = dict(type='BinaryCrossEntropyLoss'),
                 refine_cls_avg: str = 'refined',
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if class_agnostic:
            num_classes = 1
        if refine_cls_avg not in REFINE_CLS_AVG:
            raise ValueError(f'AFSDHead: refine_cls_avg must be one of {REFINE_CLS_AVG}, got '
                             f'{refine_cls_avg!r}')
        self.refine_cls_avg = refine_cls_avg
        self.class_agnostic = bool(class_agnostic)
        self.use_refinement = bool(use_refinement)
        if not 0.0 <= refine_feature_grad <= 1.0:
            raise ValueError('AFSD: refine_feature_grad must be in [0, 1]')
        self.refine_feature_grad = float(refine_feature_grad)
        self.coarse_head = MODELS.build(_sub_cfg(coarse_head, 'coarse_head', num_classes))
        self.num_classes = self.coarse_head.num_classes
        self.refine_head = None
        if self.use_refinement:
            if refine_head is None:
                raise ValueError('AFSD: use_refinement=True needs refine_head')
            self.refine_head = MODELS.build(_sub_cfg(refine_head, 'refine_head', num_classes))
            if self.refine_head.num_classes != self.num_classes:
                raise ValueError('AFSD: coarse_head and refine_head num_classes differ')
        self.assigner = TASK_UTILS.build(assigner)
        self.refine_coder = TASK_UTILS.build(refine_coder)
        self.loss_coarse_cls = self._cls_loss(loss_coarse_cls)
        self.loss_coarse_loc = MODELS.build(loss_coarse_loc)
        self.loss_refine_cls = self._cls_loss(loss_refine_cls) if self.use_refinement else None
        self.loss_refine_loc = MODELS.build(loss_refine_loc) if self.use_refinement else None
        self.loss_quality = (MODELS.build(loss_quality)
                             if self.use_refinement and self.refine_head.use_quality else None)

    def _cls_loss(self, cfg: dict):
        # SoftmaxFocalLoss weighs background apart; its default background_index=-1 is this
        # head's last logit
        return MODELS.build(cfg)

    @property
    def test_cfg(self) -> Dict[str, Any]:
        return self._test_cfg

    @test_cfg.setter
    def test_cfg(self, cfg: Dict[str, Any]) -> None:
        # validated where the detector hands it over, so a bad value fails at build time
        if not 0.0 <= cfg.get('refine_score_weight', 0.5) <= 1.0:
            raise ValueError('AFSD: test_cfg.refine_score_weight must be in [0, 1]')
        self._test_cfg = dict(cfg)

    # -- network ------------------------------------------------------------------------------
    def coarse_segments(self, dists: List[torch.Tensor],
                        length: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Priors and their coarse segments: centres ``[N]`` (``N = sum T_l``, window
        snippets) and per level ``[B, T_l, 2]`` from the distances ``[B, 2, T_l]`` (level
        units)."""
        centres, segs = [], []
        for d in dists:
            t_l = d.shape[-1]
            unit = float(length) / t_l
            c = (torch.arange(t_l, device=d.device, dtype=d.dtype) + 0.5) * unit
            segs.append(torch.stack([c[None] - d[:, 0] * unit, c[None] + d[:, 1] * unit], dim=-1))
            centres.append(c)
        return torch.cat(centres), segs

    def forward(self, feats: Tuple[List[torch.Tensor], torch.Tensor],
                masks: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``feats`` = (pyramid levels ``[B, C, T_l]``, frame-level feature ``[B, C_f, L_f]``),
        ``masks [B, L]`` (``L`` the window length). Outputs concatenated over levels:
        ``centres [N]``, ``coarse [B, N, 2]``, ``coarse_logits [B, N, C+1]`` and with
        refinement ``offsets [B, N, 2]``, ``refine_logits [B, N, C+1]``, ``quality [B, N]``
        and the level-0 boundary features ``loc_boundary0`` / ``cls_boundary0``
        ``[B, 2F, T_0]`` (read by the detector's boundary consistency losses)."""
        levels, frame = feats
        length = masks.shape[1]
        loc_feats, cls_feats, dists, logits = self.coarse_head(levels)
        centres, segs = self.coarse_segments(dists, length)
        out = dict(centres=centres, coarse=torch.cat(segs, dim=1),
                   coarse_logits=torch.cat([x.transpose(1, 2) for x in logits], dim=1))
        if self.refine_head is not None:
            g = self.refine_feature_grad
            offsets, rlogits, quality, boundary0 = self.refine_head(
                [scale_grad(f, g) for f in loc_feats], [scale_grad(f, g) for f in cls_feats],
                frame, segs, length)
            out['loc_boundary0'], out['cls_boundary0'] = boundary0
            out['offsets'] = torch.cat([x.transpose(1, 2) for x in offsets], dim=1)
            out['refine_logits'] = torch.cat([x.transpose(1, 2) for x in rlogits], dim=1)
            if quality[0] is not None:
                out['quality'] = torch.cat([x[:, 0] for x in quality], dim=1)
        return out

    def level0_boundary_features(self, level0: torch.Tensor
                                 ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Level-0 boundary features of the loc and cls refinement branches alone (no coarse
        outputs, no pooling): pyramid level 0 ``[B, C, T_0]`` -> ``([B, 2F, T_0],
        [B, 2F, T_0])``; the gradient into the towers is scaled as in :meth:`forward`."""
        if self.refine_head is None:
            raise ValueError('AFSDHead: level-0 boundary features need the refinement head')
        g = self.refine_feature_grad
        return self.refine_head.boundary_features(
            scale_grad(self.coarse_head.loc_tower(level0), g),
            scale_grad(self.coarse_head.cls_tower(level0), g))

    @staticmethod
    def prior_valid(centres: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``[B, N]``: priors whose centre falls on a real (unpadded) input position."""
        return prior_valid_mask(centres, masks)

    def _cls_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """Class indices (-1 = background) -> softmax targets (background: the last logit)."""
        return torch.where(labels >= 0, labels, torch.full_like(labels, self.num_classes))

    # -- training -----------------------------------------------------------------------------
    def loss_by_feat(self, outs: Dict[str, torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        gt_segs, gt_labels = unpack_gt_instances(data_samples, masks.device, self.class_agnostic,
                                                 label_rule='specific')
        centres, coarse = outs['centres'], outs['coarse']
        valid = self.prior_valid(centres, masks)
        coarse_d = coarse.detach()
        refine = self.refine_head is not None
        results = [self.assigner.assign(centres, gt_segs[b], gt_labels[b], valid[b],
                                        coarse_d[b] if refine else None)
                   for b in range(valid.shape[0])]
        gt_inds = torch.stack([r.gt_inds for r in results])
        labels = self._cls_targets(torch.stack([r.labels for r in results]))
        matched = coarse.new_zeros(coarse.shape)
        for b in range(valid.shape[0]):
            if gt_segs[b].numel():
                matched[b] = gt_segs[b][gt_inds[b].clamp(min=0)]
        pos = gt_inds >= 0
        num_pos = max(float(pos.sum()), 1.0)

        losses = dict(
            loss_coarse_cls=self.loss_coarse_cls(outs['coarse_logits'][valid], labels[valid],
                                                 avg_factor=num_pos),
            loss_coarse_loc=self.loss_coarse_loc(coarse[pos], matched[pos], avg_factor=num_pos))
        if not refine:
            return losses
        rlabels = torch.stack([r.refined_labels for r in results])
        rpos = rlabels >= 0
        num_rpos = max(float(rpos.sum()), 1.0)
        losses['loss_refine_cls'] = self.loss_refine_cls(
            outs['refine_logits'][valid], self._cls_targets(rlabels)[valid],
            avg_factor=num_rpos if self.refine_cls_avg == 'refined' else num_pos)
        target = self.refine_coder.encode(coarse_d[rpos], matched[rpos])
        losses['loss_refine_loc'] = self.loss_refine_loc(
            outs['offsets'][rpos], target, avg_factor=num_rpos)
        if 'quality' in outs:
            refined = self.refine_coder.decode(coarse_d, outs['offsets'].detach())
            q_target = segment_tiou(refined[pos], matched[pos], aligned=True)
            losses['loss_quality'] = self.loss_quality(outs['quality'][pos], q_target,
                                                       avg_factor=num_pos)
        return losses

    # -- inference ----------------------------------------------------------------------------
    def scores_and_segments(self, outs: Dict[str, torch.Tensor]
                            ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Final segments ``[B, N, 2]`` and class scores ``[B, N, C]`` (background removed)."""
        probs = outs['coarse_logits'].softmax(-1)
        segs = outs['coarse']
        if 'offsets' in outs:
            w = float(self.get_test_cfg('refine_score_weight', 0.5))
            probs = (1.0 - w) * probs + w * outs['refine_logits'].softmax(-1)
            segs = self.refine_coder.decode(segs, outs['offsets'])
            if 'quality' in outs and self.get_test_cfg('use_quality_score', True):
                probs = probs * outs['quality'].sigmoid()[..., None]
        return segs, probs[..., :-1]

    def predict_by_feat(self, outs: Dict[str, torch.Tensor],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        valid = self.prior_valid(outs['centres'], masks)
        segs, scores = self.scores_and_segments(outs)
        topk = int(self.get_test_cfg('pre_nms_topk', 1000))
        thr = float(self.get_test_cfg('score_thr', 0.001))
        return [decode_class_scores(segs[w][valid[w]], scores[w][valid[w]], topk, thr)
                for w in range(masks.shape[0])]
