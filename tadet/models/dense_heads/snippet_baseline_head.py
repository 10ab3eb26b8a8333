"""Head of :class:`SnippetBaseline`: per-class sigmoid snippet scores, runs above thresholds.

Training: a 1x1 conv to ``num_classes`` logits, binary cross-entropy against multi-hot snippet
targets (:func:`snippet_multilabel_targets`: a segment labelled both Diving and CliffDiving makes
both targets 1) over the real (unpadded) snippets.

Decoding: for every class and every threshold in ``test_cfg.thresholds``, each maximal run of
consecutive real snippets whose probability is above the threshold is a candidate segment
``[first, last + 1)`` (window snippets) scored by the mean probability inside it. Several
thresholds give nested candidates of different lengths; NMS (``test_cfg.nms``) picks among them.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.post_processing.post_processor import decode_class_scores
from tadet.models.task_modules.snippet_multilabel_targets import snippet_multilabel_targets
from tadet.registry import MODELS
from tadet.structures import TADDataSample

from .base_tad_head import CANDIDATE_TEST_KEYS, BaseTADHead, unpack_gt_instances

DEFAULT_THRESHOLDS = (0.2, 0.35, 0.5, 0.65, 0.8)


def threshold_runs(probs: torch.Tensor, thresholds: Sequence[float]) -> Dict[str, torch.Tensor]:
    """Connected runs of snippets above each threshold, per class.

    Args:
        probs: ``[C, T]`` per-class snippet probabilities (0 on padded snippets, so no run
            enters the padding).
        thresholds: a run is a maximal stretch of snippets with probability ``> thr``.

    Returns:
        dict(segments ``[N, 2]`` ``[first, last + 1)`` in snippets, scores ``[N]`` mean
        probability inside, labels ``[N]`` class), in threshold, class, time order.
    """
    num_classes, t = probs.shape
    # prefix sums: the mean of any run is two lookups
    csum = F.pad(probs.double().cumsum(dim=1), (1, 0))  # [C, T + 1]
    segs, scores, labels = [], [], []
    for thr in thresholds:
        above = F.pad((probs > float(thr)).to(torch.int8), (1, 1))  # [C, T + 2]
        step = above[:, 1:] - above[:, :-1]  # [C, T + 1]: +1 at a run's first, -1 after its last
        # nonzero() is row-major, so the k-th start and the k-th end belong to the same run
        cls, start = torch.nonzero(step == 1, as_tuple=True)
        _, end = torch.nonzero(step == -1, as_tuple=True)
        mean = (csum[cls, end] - csum[cls, start]) / (end - start).double()
        segs.append(torch.stack([start, end], dim=1).float())
        scores.append(mean.to(probs.dtype))
        labels.append(cls)
    if not segs:
        return dict(segments=probs.new_zeros((0, 2)), scores=probs.new_zeros(0),
                    labels=torch.zeros(0, dtype=torch.long, device=probs.device))
    return dict(segments=torch.cat(segs), scores=torch.cat(scores), labels=torch.cat(labels))


@MODELS.register_module()
class SnippetBaselineHead(BaseTADHead):
    """1x1 conv to per-class logits, multi-hot BCE, threshold-run decoding.

    Args:
        in_channels: channels of the features ``[B, C, T]``.
        num_classes: action classes (no background: one sigmoid per class).
        prior_prob: initial foreground probability (classifier bias), so the first steps are
            not spent pushing 20 x T sigmoids from 0.5 to the rare positives.
        loss_cls: per-(snippet, class) loss on logits (default BCE), averaged over the real
            snippets and classes.
        init_cfg: mmengine init config.

    ``test_cfg`` keys: ``thresholds`` (default ``(0.2, 0.35, 0.5, 0.65, 0.8)``),
    ``pre_nms_topk`` / ``score_thr`` (candidates kept per window).
    """

    TEST_CFG_KEYS = CANDIDATE_TEST_KEYS | {'thresholds'}

    def __init__(self, in_channels: int, num_classes: int, prior_prob: float = 0.01,
                 loss_cls: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError('SnippetBaselineHead: num_classes must be >= 1')
        if not 0 < prior_prob < 1:
            raise ValueError(f'SnippetBaselineHead: prior_prob must be in (0, 1), got '
                             f'{prior_prob}')
        self.num_classes = int(num_classes)
        self.cls_out = nn.Conv1d(in_channels, self.num_classes, 1)
        nn.init.constant_(self.cls_out.bias, -float(torch.log(torch.tensor(
            (1 - prior_prob) / prior_prob))))
        self.loss_cls = MODELS.build(
            loss_cls or dict(type='BinaryCrossEntropyLoss', use_sigmoid=True))

    def forward(self, feats: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``feats [B, C, T]`` -> logits ``[B, num_classes, T]``."""
        return self.cls_out(feats)

    def targets(self, masks: torch.Tensor,
                data_samples: Sequence[TADDataSample]) -> torch.Tensor:
        """Multi-hot targets ``[B, T, num_classes]``."""
        segments, labels = unpack_gt_instances(data_samples, masks.device, label_rule='all')
        t = masks.shape[1]
        return torch.stack([snippet_multilabel_targets(s, lab, t, self.num_classes)
                            for s, lab in zip(segments, labels)])

    def loss_by_feat(self, outs: torch.Tensor, masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``outs [B, num_classes, T]`` logits, ``masks [B, T]`` -> ``dict(loss_cls)``."""
        logits = outs.permute(0, 2, 1)  # [B, T, C]
        targets = self.targets(masks, data_samples)
        weight = masks.to(logits.dtype)[..., None].expand_as(logits)
        avg = max(float(weight.sum()), 1.0)
        return dict(loss_cls=self.loss_cls(logits, targets, weight=weight, avg_factor=avg))

    @torch.no_grad()
    def predict_by_feat(self, outs: torch.Tensor,
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window: the threshold runs of every class, duplicates removed, cut to the best
        ``pre_nms_topk`` above ``score_thr``."""
        probs = outs.sigmoid() * masks[:, None].to(outs.dtype)  # [B, C, T]; padding never fires
        thresholds = self.get_test_cfg('thresholds', DEFAULT_THRESHOLDS)
        if (not isinstance(thresholds, (list, tuple)) or not thresholds
                or any(not 0 <= float(t) < 1 for t in thresholds)):
            raise ValueError(f'SnippetBaselineHead: test_cfg.thresholds must be a non-empty list '
                             f'of probabilities in [0, 1), got {thresholds!r}')
        topk = int(self.get_test_cfg('pre_nms_topk', -1))
        score_thr = float(self.get_test_cfg('score_thr', 0.0))
        results = []
        for p in probs:
            runs = threshold_runs(p, thresholds)
            # a run cut identically by two thresholds is one candidate
            key = torch.cat([runs['labels'][:, None].float(), runs['segments']], dim=1)
            uniq, inverse = torch.unique(key, dim=0, return_inverse=True)
            first = torch.full((uniq.shape[0],), key.shape[0], dtype=torch.long,
                               device=key.device).scatter_reduce_(
                0, inverse, torch.arange(key.shape[0], device=key.device), 'amin')
            segs, scores, labels = (runs['segments'][first], runs['scores'][first],
                                    runs['labels'][first])
            # one (segment, class) pair per row: the shared top-k / threshold cut
            cls_scores = scores.new_zeros((scores.numel(), self.num_classes))
            cls_scores[torch.arange(scores.numel(), device=scores.device), labels] = scores
            results.append(decode_class_scores(segs, cls_scores, topk=topk, score_thr=score_thr))
        return results
