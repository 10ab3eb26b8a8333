"""A2Net anchor-based head: per-level k3 conv predicting, for every anchor, class logits
(background at the last index, ``num_classes``), an overlap (tIoU) logit and (dc, dw)
regression deltas."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from tadet.models.post_processing import decode_class_scores
from tadet.models.task_modules.assigners import SegmentAssignResult
from tadet.models.task_modules.prior_generators import prior_valid_mask
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

from .base_tad_head import CANDIDATE_TEST_KEYS, BaseTADHead, unpack_gt_instances

# candidates kept per window when test_cfg does not set pre_nms_topk / score_thr
DEFAULT_PRE_NMS_TOPK = 1000
DEFAULT_SCORE_THR = 0.0
CANDIDATE_MODES = ('foreground_argmax', 'argmax', 'per_class')


def check_choice(owner: str, name: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming the option."""
    if value not in choices:
        raise ValueError(f'{owner}: {name} must be one of {tuple(choices)}, got {value!r}')
    return value


def class_candidates(segments: torch.Tensor, probs: torch.Tensor, mode: str, topk: int,
                     score_thr: float, factor: Optional[torch.Tensor] = None,
                     background_thr: Optional[float] = None) -> Dict[str, torch.Tensor]:
    """(segment, class) candidates of one window.

    Args:
        segments: ``[N, 2]``; probs: ``[N, C + 1]`` softmax, background last.
        mode: ``'foreground_argmax'`` (A2Net authors' ``result_process_ab`` / ``_af``: one
            candidate per prior, the foreground class of the highest score, score = that
            class probability times ``factor``; the background probability only filters, see
            ``background_thr``), ``'argmax'`` (an earlier reading: the argmax over all
            ``C + 1`` classes, none when it is background) or ``'per_class'`` (every
            foreground class of every prior).
        topk / score_thr: ``test_cfg`` cut (``decode_class_scores``).
        factor: ``[N]`` optional score multiplier (the anchor-based overlap).
        background_thr: ``'foreground_argmax'`` only: priors whose background probability is
            at or above it give no candidate (authors: 0.98 anchor-based, none anchor-free);
            ``None`` keeps every prior.
    Returns:
        dict(segments ``[K, 2]``, scores ``[K]``, labels ``[K]``).
    """
    num_classes = probs.shape[-1] - 1
    scores = probs[:, :num_classes]
    if factor is not None:
        scores = scores * factor[:, None]
    if mode in ('foreground_argmax', 'argmax'):
        if mode == 'argmax':
            best = probs.argmax(-1)
            fg = best < num_classes
        else:
            best = scores.argmax(-1)
            fg = (probs[:, num_classes] < background_thr if background_thr is not None
                  else torch.ones_like(best, dtype=torch.bool))
        # only the chosen class can pass any threshold
        keep = torch.full_like(scores[fg], float('-inf'))
        keep.scatter_(1, best[fg, None], scores[fg].gather(1, best[fg, None]))
        segments, scores = segments[fg], keep
    return decode_class_scores(segments, scores, topk, score_thr)


def check_background_thr(owner: str, background_thr: Optional[float]) -> Optional[float]:
    """``background_thr`` as a float in ``(0, 1]`` or ``None``, else a ValueError."""
    if background_thr is None:
        return None
    if not 0.0 < float(background_thr) <= 1.0:
        raise ValueError(f'{owner}: background_thr must be in (0, 1] or None, got '
                         f'{background_thr!r}')
    return float(background_thr)


@MODELS.register_module()
class A2NetAnchorHead(BaseTADHead):
    """Anchor-based branch of A2Net.

    Args:
        num_classes: foreground classes ``C`` (the head predicts ``C + 1``, background last).
        in_channels: channels of each pyramid level.
        kernel_size: of the per-level prediction conv (3).
        anchor_generator / segment_coder / assigner / sampler: ``TASK_UTILS`` configs. The
            sampler is ``OverlapHardNegativeSampler`` (authors: all positives, all negatives with
            predicted overlap > 0.5, random easy negatives 1:1, over the batch) or
            ``HardNegativeSampler`` (earlier variant: per window, 1:1, highest CE first).
        match_on: ``'decoded'`` (paper III-C / authors' ``ab_match.py``: each *decoded*
            prediction takes the gt of highest tIoU with it; that tIoU is the positive test and
            the overlap target) or ``'anchors'`` (earlier variant: the default anchors).
        reg_loss_space: ``'normalized_se'`` (authors: ``loss_reg`` on the decoded (start, end)
            of the positives divided by the window length, summed over both ends and averaged
            over positives) or ``'deltas'`` (earlier variant: on the coder's encoded deltas,
            averaged over coordinates).
        candidates: ``'foreground_argmax'`` (authors), ``'argmax'`` (an earlier reading) or
            ``'per_class'``, see :func:`class_candidates`.
        background_thr: anchors whose background probability is at or above it make no
            candidate (``'foreground_argmax'``; authors' ``FILTER_NEGATIVE_TH`` 0.98).
        loss_cls / loss_overlap / loss_reg: ``MODELS`` loss configs (their ``loss_weight`` is the
            weight in the detector's total loss: A2Net 1, 10, 10). ``loss_overlap`` gets
            ``sigmoid(overlap logit)`` (so a loss with its own ``use_sigmoid`` is rejected).
        init_cfg: mmengine weight init config.

    Test-time ``test_cfg`` keys: ``pre_nms_topk`` (best candidates kept per window, default
    1000) and ``score_thr`` (candidates at or below it are dropped, default 0).
    """

    TEST_CFG_KEYS = CANDIDATE_TEST_KEYS

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 1024, 1024, 2048, 2048, 4096),
                 kernel_size: int = 3,
                 anchor_generator: dict = dict(type='AnchorGenerator1d',
                                               scales=(0.5, 0.75, 1.0, 1.5, 2.0)),
                 segment_coder: dict = dict(type='DeltaCWSegmentCoder', center_scale=0.1,
                                            width_scale=0.1),
                 assigner: dict = dict(type='MaxTIoUAssigner', pos_iou_thr=0.5,
                                       neg_iou_thr=0.5),
                 sampler: dict = dict(type='OverlapHardNegativeSampler', hard_thr=0.5,
                                      easy_pos_ratio=1.0),
                 match_on: str = 'decoded',
                 reg_loss_space: str = 'normalized_se',
                 candidates: str = 'foreground_argmax',
                 background_thr: Optional[float] = 0.98,
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 loss_overlap: dict = dict(type='SmoothL1Loss', loss_weight=10.0),
                 loss_reg: dict = dict(type='SmoothL1Loss', loss_weight=10.0),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.num_classes = int(num_classes)
        self.in_channels = tuple(in_channels)
        self.match_on = check_choice(name, 'match_on', match_on, ('decoded', 'anchors'))
        self.reg_loss_space = check_choice(name, 'reg_loss_space', reg_loss_space,
                                           ('normalized_se', 'deltas'))
        self.candidates = check_choice(name, 'candidates', candidates, CANDIDATE_MODES)
        self.background_thr = check_background_thr(name, background_thr)
        self.anchor_generator = TASK_UTILS.build(anchor_generator)
        self.segment_coder = TASK_UTILS.build(segment_coder)
        self.assigner = TASK_UTILS.build(assigner)
        self.sampler = TASK_UTILS.build(sampler)
        if getattr(self.sampler, 'hardness_key', None) not in ('overlap', 'bg_loss'):
            raise ValueError(f'{name}: sampler {type(self.sampler).__name__} has no '
                             f"hardness_key 'overlap' / 'bg_loss'")
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_overlap = MODELS.build(loss_overlap)
        if getattr(self.loss_overlap, 'use_sigmoid', False):
            raise ValueError(f'{name}: loss_overlap already receives sigmoid(overlap); '
                             f'use_sigmoid=True would apply it twice')
        self.loss_reg = MODELS.build(loss_reg)
        self.num_anchors = self.anchor_generator.num_base_anchors
        # per anchor: C + 1 class logits, 1 overlap logit, 2 deltas
        self.out_dim = self.num_classes + 1 + 1 + 2
        self.preds = nn.ModuleList(
            nn.Conv1d(c, self.num_anchors * self.out_dim, kernel_size,
                      padding=kernel_size // 2) for c in self.in_channels)

    def forward(self, feats: Sequence[torch.Tensor],
                masks: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """Per level ``[B, c_l, T_l]`` -> raw per level ``[B, A * (C + 4), T_l]`` (``masks``
        unused: every position predicts)."""
        if len(feats) != len(self.preds):
            raise ValueError(f'A2NetAnchorHead has {len(self.preds)} levels, got {len(feats)} '
                             f'feature maps')
        return [conv(f) for conv, f in zip(self.preds, feats)]

    def _flat_outputs(self, outs: Sequence[torch.Tensor]
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw per-level outputs -> cls ``[B, N, C + 1]``, overlap ``[B, N]``, deltas
        ``[B, N, 2]`` (N anchors, all levels, in the anchor generator's order)."""
        flat = torch.cat([self.anchor_generator.flatten_head_output(o, self.num_anchors)
                          for o in outs], dim=1)
        c1 = self.num_classes + 1
        return flat[..., :c1], flat[..., c1], flat[..., c1 + 1:]

    def anchors(self, outs: Sequence[torch.Tensor], window_length: int) -> torch.Tensor:
        """``[N, 2]`` anchors of all levels in window snippets (level lengths and device read
        from the per-level maps ``outs``, features or raw outputs)."""
        return torch.cat(self.anchor_generator.grid_anchors(
            [o.shape[-1] for o in outs], window_length, outs[0].device))

    def _sample(self, results: List[SegmentAssignResult], hardness: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample assignments + hardness ``[B, N]`` -> (batch, prior) indices of the
        positives and of the sampled negatives: ``pos_b, pos_i, neg_b, neg_i``."""
        n = hardness.shape[1]
        if getattr(self.sampler, 'batch_level', False):
            res = SegmentAssignResult(torch.cat([r.gt_inds for r in results]),
                                      torch.cat([r.max_tious for r in results]),
                                      torch.cat([r.labels for r in results]))
            pos, neg = self.sampler.sample(res, hardness.reshape(-1))
            return pos // n, pos % n, neg // n, neg % n
        out = [[], [], [], []]
        for b, res in enumerate(results):
            pos, neg = self.sampler.sample(res, hardness[b])
            for lst, v in zip(out, (torch.full_like(pos, b), pos, torch.full_like(neg, b), neg)):
                lst.append(v)
        return tuple(torch.cat(v) for v in out)

    def loss_by_feat(self, outs: List[torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """Args:
            outs: raw per-level outputs of :meth:`forward`.
            masks: ``[B, L]`` True = real snippet.
            data_samples: ground truth in window snippets.
        Returns:
            ``loss_ab_cls`` (CE on the sampled priors), ``loss_ab_overlap`` (sigmoid(overlap)
            vs the prior's max tIoU, detached, on the same priors), ``loss_ab_reg`` (on the
            positives, see ``reg_loss_space``).
        """
        cls, overlap, deltas = self._flat_outputs(outs)
        length = masks.shape[-1]
        anchors = self.anchors(outs, length)
        segs = self.segment_coder.decode(anchors[None].expand_as(deltas), deltas)  # [B, N, 2]
        priors = (segs.detach() if self.match_on == 'decoded'
                  else anchors[None].expand_as(segs))
        gt_segments, gt_labels = unpack_gt_instances(data_samples, anchors.device,
                                                    label_rule='specific')
        valid = prior_valid_mask(anchors, masks)
        results = [self.assigner.assign(priors[b], gt_segments[b].to(anchors), gt_labels[b],
                                        valid[b]) for b in range(cls.shape[0])]
        pred_overlap = overlap.sigmoid()
        if self.sampler.hardness_key == 'overlap':
            hardness = pred_overlap.detach()
        else:  # CE against background (detached, only for ranking)
            hardness = -torch.log_softmax(cls.detach(), dim=-1)[..., self.num_classes]
        pb, pi, nb, ni = self._sample(results, hardness)
        labels = torch.stack([r.labels for r in results])  # [B, N]
        tious = torch.stack([r.max_tious for r in results]).to(overlap)  # detached targets
        sel_b, sel_i = torch.cat([pb, nb]), torch.cat([pi, ni])
        num_sel = max(sel_i.numel(), 1)
        sel_lab = torch.cat([labels[pb, pi], torch.full_like(ni, self.num_classes)])
        loss_cls = self.loss_cls(cls[sel_b, sel_i], sel_lab, avg_factor=num_sel)
        loss_overlap = self.loss_overlap(pred_overlap[sel_b, sel_i], tious[sel_b, sel_i],
                                         avg_factor=num_sel)
        if pi.numel():
            matched = torch.stack([  # [B, N, 2] each prior's gt (any row for non-positives)
                g.to(anchors)[(r.gt_inds - 1).clamp(min=0)] if g.shape[0]
                else anchors.new_zeros(anchors.shape) for g, r in zip(gt_segments, results)])
            gts = matched[pb, pi]  # [P, 2]
            if self.reg_loss_space == 'normalized_se':
                loss_reg = self.loss_reg(segs[pb, pi] / length, gts / length,
                                         avg_factor=pi.numel())
            else:
                tgt = self.segment_coder.encode(anchors[pi], gts)
                loss_reg = self.loss_reg(deltas[pb, pi], tgt, avg_factor=tgt.numel())
        else:  # no positive in the batch: zero that keeps the graph
            loss_reg = deltas.sum() * 0.0
        return dict(loss_ab_cls=loss_cls, loss_ab_overlap=loss_overlap, loss_ab_reg=loss_reg)

    def predict_by_feat(self, outs: List[torch.Tensor],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window the best ``pre_nms_topk`` candidates scoring above ``score_thr``:
        dict(segments ``[N, 2]`` window snippets, scores ``[N]``, labels ``[N]``). Score =
        ``softmax`` class probability times ``sigmoid(overlap)``; one candidate per anchor (its
        best foreground class, none when background reaches ``background_thr``) or per
        (anchor, class), see ``candidates``; only anchors centred on real snippets."""
        cls, overlap, deltas = self._flat_outputs(outs)
        anchors = self.anchors(outs, masks.shape[-1])
        valid = prior_valid_mask(anchors, masks)
        segs = self.segment_coder.decode(anchors[None].expand_as(deltas), deltas)
        probs, factor = cls.softmax(-1), overlap.sigmoid()
        topk = self.get_test_cfg('pre_nms_topk', DEFAULT_PRE_NMS_TOPK)
        thr = self.get_test_cfg('score_thr', DEFAULT_SCORE_THR)
        return [class_candidates(segs[b][valid[b]], probs[b][valid[b]], self.candidates, topk,
                                 thr, factor[b][valid[b]], self.background_thr)
                for b in range(cls.shape[0])]
