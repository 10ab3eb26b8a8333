"""Turning ground-truth / prediction dicts into flat arrays, with validation.

Shared by the fast metric and the loop reference so both evaluate exactly the same input; the
rules (duplicates, unknown labels, unknown videos) live here only.
"""
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from tadet.datasets.annotations import AnnotationError
from .io import PredictionFormatError, UnknownLabelError, parse_mapping


@dataclass
class DetectionInputs:
    """Flat arrays. Videos are indexed in ground-truth order, classes in ``classes`` order.

    Predictions keep their input order (videos in mapping order, entries in list order); that
    order breaks score ties (earlier wins).
    """
    videos: List[str]
    classes: List[str]
    gt_video: np.ndarray  # [M] int64
    gt_label: np.ndarray  # [M] int64
    gt_segment: np.ndarray  # [M, 2] float64
    pred_video: np.ndarray  # [N] int64
    pred_label: np.ndarray  # [N] int64 (-1 where not needed)
    pred_segment: np.ndarray  # [N, 2] float64
    pred_score: np.ndarray  # [N] float64
    num_duplicate_gt: int = 0
    ignored_labels: List[str] = field(default_factory=list)
    num_ignored_label_predictions: int = 0
    ignored_videos: List[str] = field(default_factory=list)
    num_ignored_video_predictions: int = 0

    @property
    def present_classes(self) -> np.ndarray:
        """Indices (ascending, i.e. in ``classes`` order) of the classes with ground truth."""
        return np.unique(self.gt_label)


def check_thresholds(tiou_thresholds) -> np.ndarray:
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0:
        raise ValueError('tiou_thresholds is empty')
    if not np.isfinite(thr).all() or (thr < 0).any() or (thr > 1).any():
        raise ValueError(f'tiou_thresholds must lie in [0, 1], got {thr.tolist()}')
    return thr


def _parse_ground_truth(ground_truth: Mapping, class_labels: bool):
    """Flatten the ground truth; exact duplicates (video, label, segment) are removed, the first
    occurrence kept."""
    if not isinstance(ground_truth, Mapping):
        raise AnnotationError(f'ground truth must map video -> list of {{"segment", "label"}}, '
                              f'got {type(ground_truth).__name__}')
    gt = {k: ([] if v is None else v) for k, v in ground_truth.items()}
    try:
        videos, counts, seg, labels, _ = parse_mapping(gt, source='ground truth',
                                                       need_label=class_labels,
                                                       need_score=False)
    except PredictionFormatError as e:  # same checks, but it is the ground truth
        raise AnnotationError(str(e)) from None
    videos = [str(v) for v in videos]
    vid = np.repeat(np.arange(len(videos), dtype=np.int64), counts)
    if not class_labels:
        labels = [''] * len(vid)
    label_names, label_inv = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    label_inv = label_inv.reshape(-1)
    keep = np.ones(len(vid), dtype=bool)
    if len(vid) > 1:
        order = np.lexsort((seg[:, 1], seg[:, 0], label_inv, vid))  # stable: first kept
        v, lab, sg = vid[order], label_inv[order], seg[order]
        same = ((v[1:] == v[:-1]) & (lab[1:] == lab[:-1]) & (sg[1:, 0] == sg[:-1, 0])
                & (sg[1:, 1] == sg[:-1, 1]))
        keep[order[1:][same]] = False
    glab = [str(label_names[i]) for i in label_inv[keep].tolist()]
    return videos, vid[keep], seg[keep], glab, int((~keep).sum())


def prepare_detection_inputs(ground_truth: Mapping, predictions: Mapping,
                             classes: Optional[Sequence[str]] = None,
                             unknown_labels: str = 'error', class_labels: bool = True,
                             source: str = 'predictions') -> DetectionInputs:
    """Validate and flatten.

    Args:
        ground_truth: ``video -> [{"segment": [s, e], "label": str}]``; exact duplicates
            (same video, label and segment) are removed.
        predictions: ``video -> [{"segment": [s, e], "label": str, "score": float}]``.
        classes: known class names (order used for reporting); default: sorted gt labels. Every
            gt label must be in it.
        unknown_labels: ``'error'`` (raise :class:`UnknownLabelError` listing them) or
            ``'ignore'`` (drop those predictions, list them in ``ignored_labels``, warn).
        class_labels: False for class-agnostic proposals (labels not needed nor checked).
        source: how to name the predictions in messages.
    """
    if unknown_labels not in ('error', 'ignore'):
        raise ValueError(f"unknown_labels must be 'error' or 'ignore', got {unknown_labels!r}")
    if not isinstance(predictions, Mapping):
        raise PredictionFormatError(f'{source}: must map video -> list of entries, got '
                                    f'{type(predictions).__name__}')
    videos, gvid, gseg, glab, dup = _parse_ground_truth(ground_truth, class_labels)
    if class_labels:
        if classes is None:
            names = sorted(set(glab))
        else:
            names = [str(c) for c in classes]
            if len(set(names)) != len(names):
                raise ValueError('classes contains duplicate names')
            missing = sorted(set(glab) - set(names))
            if missing:
                raise AnnotationError(f'ground truth labels missing from the class list: '
                                      f'{missing}')
    else:
        names = ['']
    cindex = {n: i for i, n in enumerate(names)}
    vindex = {v: i for i, v in enumerate(videos)}

    pvideos, counts, pred_segment, plab, pred_score = parse_mapping(
        predictions, source=source, need_label=class_labels)
    pvi = np.asarray([vindex.get(str(v), -1) for v in pvideos], dtype=np.int64)
    pred_video = np.repeat(pvi, counts)
    unknown_video = (pvi < 0) & (counts > 0)
    ignored_videos = [str(pvideos[i]) for i in np.nonzero(unknown_video)[0].tolist()]
    n_ign_vid = int(counts[unknown_video].sum())
    if ignored_videos:
        warnings.warn(f'{source}: {n_ign_vid} prediction(s) in {len(ignored_videos)} video(s) '
                      f'absent from the ground truth were ignored (e.g. {ignored_videos[:3]})')
        keep = pred_video >= 0
        pred_video, pred_segment = pred_video[keep], pred_segment[keep]
        pred_score = pred_score[keep]
        plab = [n for n, k in zip(plab, keep.tolist()) if k] if class_labels else plab
    if not class_labels:
        plab = [''] * len(pred_video)
    pred_label = np.asarray([cindex.get(n, -1) for n in plab], dtype=np.int64).reshape(-1)
    unknown = pred_label < 0
    ignored_labels, n_ign_lab = [], 0
    if unknown.any():
        ignored_labels = sorted({plab[i] for i in np.nonzero(unknown)[0].tolist()})
        n_ign_lab = int(unknown.sum())
        if unknown_labels == 'error':
            shown = ignored_labels[:20]
            raise UnknownLabelError(
                f'{source}: {n_ign_lab} prediction(s) have label(s) unknown to the ground truth '
                f'({len(ignored_labels)}): {shown}{" ..." if len(ignored_labels) > 20 else ""}; '
                f'known classes: {names[:10]}{" ..." if len(names) > 10 else ""}. Fix the class '
                f'names, or pass unknown_labels="ignore" to drop these predictions.')
        warnings.warn(f'{source}: ignored {n_ign_lab} prediction(s) with label(s) unknown to the '
                      f'ground truth: {ignored_labels}')
        keep = ~unknown
        pred_video, pred_segment = pred_video[keep], pred_segment[keep]
        pred_score, pred_label = pred_score[keep], pred_label[keep]

    return DetectionInputs(
        videos=videos, classes=names,
        gt_video=np.asarray(gvid, dtype=np.int64),
        gt_label=np.asarray([cindex[n] for n in glab], dtype=np.int64).reshape(-1),
        gt_segment=np.asarray(gseg, dtype=np.float64).reshape(-1, 2),
        pred_video=pred_video, pred_label=pred_label, pred_segment=pred_segment,
        pred_score=pred_score, num_duplicate_gt=dup, ignored_labels=ignored_labels,
        num_ignored_label_predictions=n_ign_lab, ignored_videos=ignored_videos,
        num_ignored_video_predictions=n_ign_vid)


def summarise_detection(inputs: DetectionInputs, thr: np.ndarray, ap: np.ndarray) -> Dict:
    """Result dict from the ``[T, C_present]`` AP matrix (columns: ``present_classes``)."""
    present = inputs.present_classes
    if ap.shape[1]:
        m_ap = ap.mean(axis=1)
    else:
        m_ap = np.zeros(len(thr))
    return dict(
        tiou_thresholds=thr.tolist(),
        mAP=m_ap.tolist(),
        average_mAP=float(m_ap.mean()),
        per_class_AP={inputs.classes[c]: ap[:, j].tolist() for j, c in enumerate(present)},
        num_predictions=int(len(inputs.pred_score)),
        num_ground_truth=int(len(inputs.gt_label)),
        num_duplicate_ground_truth=int(inputs.num_duplicate_gt),
        ignored_labels=list(inputs.ignored_labels),
        num_ignored_label_predictions=int(inputs.num_ignored_label_predictions),
        ignored_videos=list(inputs.ignored_videos),
        num_ignored_video_predictions=int(inputs.num_ignored_video_predictions))
