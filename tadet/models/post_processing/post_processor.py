"""The one path from raw detector outputs to scored segments in seconds.

Every detector's ``predict_window`` returns, per window, candidates in window snippet
coordinates (already cut to the ``test_cfg.pre_nms_topk`` best above ``test_cfg.score_thr``
by the heads, :func:`decode_class_scores`); :class:`TADPostProcessor` then (2) maps them to video snippets (window offset, resize scale) and clips them to the video,
(3) converts snippets to seconds, (4) merges the windows of the video, (5) runs (soft-)NMS
(per class or class-agnostic) through ``tadet.ops.batched_nms_1d``, (6) optionally fuses an
external video-level classifier, (7) keeps the top ``max_per_video``. With ``implied_labels``,
between (4) and (5) every detection of a child class of the sample's ``label_hierarchy`` is
copied with each ancestor label and the same score (softmax heads train the specific label,
see :func:`tadet.models.dense_heads.unpack_gt_instances`; the implied one is emitted here).
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import InstanceData

from tadet.registry import TASK_UTILS
from tadet.structures import SnippetGeometry

from ..task_modules.label_hierarchy import implied_label_pairs

NMS_KEYS = {'method', 'iou_threshold', 'sigma', 'min_score', 'max_seg_num', 'multiclass',
            'voting_thresh'}


def decode_class_scores(segments: torch.Tensor, cls_scores: torch.Tensor, topk: int = -1,
                        score_thr: float = 0.0) -> Dict[str, torch.Tensor]:
    """Turn per-segment class scores into (segment, class) candidates.

    Args:
        segments: ``[N, 2]`` candidate segments.
        cls_scores: ``[N, C]`` per-class scores (probabilities, background excluded).
        topk: keep the best ``topk`` (segment, class) pairs (-1: all above ``score_thr``).
    Returns:
        dict(segments ``[K, 2]``, scores ``[K]``, labels ``[K]``).
    """
    n, c = cls_scores.shape
    flat = cls_scores.reshape(-1)
    keep = torch.nonzero(flat > score_thr).squeeze(1)
    if 0 < topk < keep.numel():
        keep = keep[flat[keep].topk(topk).indices]
    return dict(segments=segments[keep // c], scores=flat[keep], labels=keep % c)


def add_implied_labels(dets: Dict[str, torch.Tensor],
                       pairs: Sequence[Sequence[int]]) -> Dict[str, torch.Tensor]:
    """``dets`` (segments ``[N, 2]``, scores ``[N]``, labels ``[N]``) plus, for every
    detection whose label is a child in ``pairs`` (``(child, parent)`` class indices), one copy
    per ancestor label with the same segment and score (appended after the originals)."""
    extra_idx, extra_lab = [], []
    for child, anc in implied_label_pairs(pairs):
        idx = torch.nonzero(dets['labels'] == child).squeeze(1)
        extra_idx.append(idx)
        extra_lab.append(torch.full_like(idx, anc))
    if not extra_idx:
        return dets
    idx = torch.cat(extra_idx)
    return dict(segments=torch.cat([dets['segments'], dets['segments'][idx]]),
                scores=torch.cat([dets['scores'], dets['scores'][idx]]),
                labels=torch.cat([dets['labels'], torch.cat(extra_lab).to(dets['labels'])]))


class ExternalClassifier:
    """Video-level class scores from a JSON file: ``{"results": {video: [score per class]}}``
    or ``{video: {class_name: score}}`` (e.g. the CUHK ActivityNet classifier output)."""

    def __init__(self, file: str, topk: int = 2, num_classes: Optional[int] = None,
                 classes: Optional[Sequence[str]] = None) -> None:
        self.file = file
        self.topk = topk
        self.num_classes = num_classes
        self.classes = None if classes is None else list(classes)
        self._scores: Optional[dict] = None

    @property
    def scores(self) -> dict:
        """The file's scores, read on first use (test time): a model with a classifier file
        builds without it, e.g. for FLOPs counting or a training run."""
        if self._scores is None:
            if not osp.isfile(self.file):
                raise FileNotFoundError(
                    f'external classifier file not found: {self.file} (set '
                    f'model.test_cfg.external_classifier.file)')
            with open(self.file) as f:
                data = json.load(f)
            self._scores = data.get('results', data)
        return self._scores

    def video_scores(self, video: str) -> torch.Tensor:
        """``[num_classes]`` class scores of ``video``."""
        if video not in self.scores:
            raise KeyError(f'external classifier {self.file} has no scores for video {video!r}')
        s = self.scores[video]
        if isinstance(s, dict):
            if self.classes is None:
                raise ValueError(f'external classifier {self.file}: class-name keyed scores '
                                 f'need external_classifier.classes')
            s = [float(s.get(c, 0.0)) for c in self.classes]
        out = torch.as_tensor(s, dtype=torch.float32)
        if self.num_classes is not None and out.numel() != self.num_classes:
            raise ValueError(f'external classifier {self.file}: video {video!r} has {out.numel()}'
                             f' class scores, external_classifier.num_classes is '
                             f'{self.num_classes}')
        return out

    def fuse(self, video: str, result: Dict[str, torch.Tensor]) -> dict:
        """Class-agnostic candidates x top-k video classes -> class-specific detections."""
        cls = self.video_scores(video).to(result['scores'].device)
        num_classes = cls.numel()
        top = cls.topk(min(self.topk, num_classes))
        segs = result['segments'].repeat(len(top.indices), 1)
        scores = (result['scores'][None] * top.values[:, None]).reshape(-1)
        labels = top.indices[:, None].expand(-1, len(result['scores'])).reshape(-1)
        return dict(segments=segs, scores=scores, labels=labels)


@TASK_UTILS.register_module()
class TADPostProcessor:
    """Shared post-processing (see module docstring).

    Args:
        nms: ``tadet.ops.batched_nms_1d`` config (``method`` hard / linear / gaussian,
            ``iou_threshold``, ``sigma``, ``min_score``, ``max_seg_num``, ``multiclass``,
            ``voting_thresh``), or ``None`` to skip NMS.
        max_per_video: detections kept per video after NMS (-1: all).
        external_classifier: ``dict(file=..., topk=2, num_classes=None, classes=None)`` to
            fuse video-level class scores into class-agnostic candidates (ActivityNet); ``None``
            keeps the detector's labels. ``num_classes`` checks the file's score count;
            ``classes`` is needed for class-name keyed files.
        implied_labels: copy every detection whose label is a child in the sample's
            ``metainfo['label_hierarchy']`` (``(child, parent)`` pairs) with each ancestor label
            and the same score, before per-class NMS (after a class-agnostic NMS, so a copy is
            not suppressed by its own source; skipped with ``external_classifier``, whose labels
            come from the video-level classifier). ``False`` for heads that predict every label
            themselves (sigmoid, multi-hot).

    The per-window top-k / score threshold are not here: the heads apply ``test_cfg``'s
    ``pre_nms_topk`` / ``score_thr`` once, where candidates are made.
    """

    def __init__(self,
                 nms: Optional[dict] = None,
                 max_per_video: int = 200,
                 external_classifier: Optional[dict] = None,
                 implied_labels: bool = True) -> None:
        if nms is not None:
            unknown = set(nms) - NMS_KEYS
            if unknown:
                raise ValueError(f'test_cfg.nms: unknown key(s) {sorted(unknown)}; '
                                 f'allowed: {sorted(NMS_KEYS)}')
            from tadet.ops.nms import parse_nms_cfg
            try:  # keys that do nothing for the chosen method: an error before any work
                parse_nms_cfg(nms)
            except ValueError as e:
                raise ValueError(f'test_cfg.nms: {e}') from None
        self.nms = None if nms is None else dict(nms)
        if self.nms is not None and max_per_video > 0:
            # (soft-)NMS picks in descending final score, so picks beyond the max_per_video
            # best of each group can never be reported: stopping there gives the same output
            # and keeps long videos (millions of candidates) linear instead of quadratic
            cap = int(self.nms.get('max_seg_num', -1))
            if cap <= 0 or cap > max_per_video:
                self.nms['max_seg_num'] = int(max_per_video)
        self.max_per_video = max_per_video
        self.implied_labels = bool(implied_labels)
        self.external = None if external_classifier is None else ExternalClassifier(
            **external_classifier)

    def _window_to_video(self, cand: dict, window_start: float, scale: float,
                         num_snippets: float) -> dict:
        segs, scores, labels = cand['segments'].float(), cand['scores'].float(), cand['labels']
        segs = (segs * scale + window_start).clamp(0, num_snippets)
        # order the bounds: a regression may cross them; a zero-length segment scores tIoU 0
        segs = torch.stack([segs.min(1).values, segs.max(1).values], dim=1)
        return dict(segments=segs, scores=scores, labels=labels.long())

    def __call__(self, candidates: List[dict], window_starts: Sequence[float],
                 meta: dict) -> InstanceData:
        """Merge one video's windows into final detections in seconds.

        Args:
            candidates: per window, dict(segments ``[N, 2]`` window snippet coordinates,
                scores ``[N]``, labels ``[N]``).
            window_starts: start of each window in video snippets.
            meta: the sample's metainfo (``fps``, ``feature_stride``, ``offset_frames``,
                ``duration``, ``num_snippets``, ``snippet_scale``, ``video_name``,
                ``label_hierarchy``).
        """
        from tadet.ops import batched_nms_1d
        scale = float(meta.get('snippet_scale', 1.0))
        geo = SnippetGeometry(float(meta['fps']), float(meta['feature_stride']),
                              float(meta['offset_frames']))
        num_snippets = float(meta.get('num_snippets') or geo.seconds_to_snippets(meta['duration']))
        parts = [self._window_to_video(c, s, scale, num_snippets)
                 for c, s in zip(candidates, window_starts)]
        if parts:
            merged = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        else:
            merged = dict(segments=torch.zeros((0, 2)), scores=torch.zeros(0),
                          labels=torch.zeros(0, dtype=torch.long))
        pairs = meta.get('label_hierarchy') if self.implied_labels else None
        if self.external is not None:
            pairs = None  # labels come from the video-level classifier
        per_class_nms = self.nms is None or bool(self.nms.get('multiclass', True))
        if pairs and per_class_nms:
            merged = add_implied_labels(merged, pairs)
        if self.nms is not None and merged['scores'].numel():
            segs, scores, labels = batched_nms_1d(merged['segments'], merged['scores'],
                                                  merged['labels'], self.nms)
            merged = dict(segments=segs, scores=scores, labels=labels)
        if pairs and not per_class_nms:
            merged = add_implied_labels(merged, pairs)
        if self.external is not None:
            merged = self.external.fuse(meta['video_name'], merged)
        order = merged['scores'].argsort(descending=True, stable=True)
        if self.max_per_video > 0:
            order = order[:self.max_per_video]
        secs = geo.snippets_to_seconds(merged['segments'][order].double())
        duration = meta.get('duration')
        if duration is not None:
            secs = secs.clamp(0, float(duration))
        out = InstanceData()
        out.segments = secs
        out.scores = merged['scores'][order]
        out.labels = merged['labels'][order]
        return out
