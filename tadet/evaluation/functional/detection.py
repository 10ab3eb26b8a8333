"""ActivityNet-style detection mAP, vectorised with numpy.

Algorithm (identical to ActivityNet's ``compute_average_precision_detection``; see
:mod:`tadet.evaluation.functional.reference` for the literal per-prediction loop):

* per class, predictions are sorted by score, descending, with a *stable* sort (on ties the
  earlier prediction in input order comes first);
* each prediction walks the ground truth of its video and class in descending tIoU order (the
  order of ``tiou.argsort()[::-1]``, ties included) and takes the first one not yet taken at that
  threshold; if the best available tIoU is below the threshold (or there is no ground truth of that
  class in the video) it is a false positive;
* AP = VOC interpolated AP: precision envelope, summed over the recall steps;
* mAP = mean over the classes present in the ground truth; average mAP = mean over thresholds.

How it is fast: the greedy matching is sequential only inside one (video, class) group, and only
for predictions with at least one ground truth at tIoU >= the smallest threshold (the others are
false positives at every threshold). Groups are independent, so step ``k`` processes the k-th such
prediction of *every* group at once, for all thresholds, against a per-threshold "taken" mask.
The Python loop runs ``max group size`` times instead of once per prediction.
"""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from .inputs import (DetectionInputs, check_thresholds, prepare_detection_inputs,
                     summarise_detection)
from .tiou import tiou_broadcast

THUMOS14_TIOU_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
ACTIVITYNET_TIOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).round(2).tolist())


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """VOC interpolated AP of each row of ``[T, N]`` precision/recall (cumulative, in score
    order). Same arithmetic as ActivityNet's ``interpolated_prec_rec`` row by row."""
    num = precision.shape[0]
    zeros = np.zeros((num, 1))
    mprec = np.hstack([zeros, precision, zeros])
    mrec = np.hstack([zeros, recall, np.ones((num, 1))])
    envelope = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
    ap = np.zeros(num)
    for t in range(num):
        idx = np.nonzero(mrec[t, 1:] != mrec[t, :-1])[0] + 1
        ap[t] = np.sum((mrec[t, idx] - mrec[t, idx - 1]) * envelope[t, idx])
    return ap


def match_predictions(inputs: DetectionInputs, thr: np.ndarray):
    """Greedy matching. Returns ``(order, tp)``: ``order`` sorts predictions by (class, score
    descending, input order) and ``tp [T, N]`` (bool) says which of the sorted predictions are
    true positives at each threshold."""
    num_thr = len(thr)
    num_pred = len(inputs.pred_score)
    num_gt = len(inputs.gt_label)
    num_videos = max(len(inputs.videos), 1)

    order = np.argsort(-inputs.pred_score, kind='stable')
    order = order[np.argsort(inputs.pred_label[order], kind='stable')]
    p_key = inputs.pred_label[order] * num_videos + inputs.pred_video[order]
    p_seg = inputs.pred_segment[order]

    # ground truth grouped by (class, video), input order kept inside a group
    g_key = inputs.gt_label * num_videos + inputs.gt_video
    g_order = np.argsort(g_key, kind='stable')
    g_key = g_key[g_order]
    g_seg = inputs.gt_segment[g_order]
    g_first = np.searchsorted(g_key, p_key, side='left')
    g_count = np.searchsorted(g_key, p_key, side='right') - g_first

    tp = np.zeros((num_thr, num_pred), dtype=bool)
    if num_pred == 0 or num_gt == 0:
        return order, tp

    # Candidates of each prediction: its group's gt with tIoU >= min threshold, in the official
    # visiting order. Rows of equal length are argsorted together (row-wise argsort == argsort
    # of each row, so ties come out exactly as in the per-prediction loop).
    min_thr = thr.min()
    buckets = []
    max_cand = 0
    for size in np.unique(g_count[g_count > 0]).tolist():
        rows = np.nonzero(g_count == size)[0]
        gidx = g_first[rows, None] + np.arange(size)
        iou = tiou_broadcast(p_seg[rows, 0:1], p_seg[rows, 1:2], g_seg[gidx, 0], g_seg[gidx, 1])
        visit = np.argsort(iou, axis=1)[:, ::-1]
        iou_v = np.take_along_axis(iou, visit, axis=1)
        ncand = (iou_v >= min_thr).sum(axis=1)  # a prefix: iou_v is non-increasing
        keep = ncand > 0
        if not keep.any():
            continue
        width = int(ncand.max())
        max_cand = max(max_cand, width)
        buckets.append((rows[keep], np.take_along_axis(gidx, visit, axis=1)[keep, :width],
                        iou_v[keep, :width]))
    if not buckets:
        return order, tp

    act = np.concatenate([b[0] for b in buckets])
    cand_gt = np.full((len(act), max_cand), num_gt, dtype=np.int64)  # num_gt: never-taken pad
    cand_iou = np.full((len(act), max_cand), -np.inf)
    pos = 0
    for rows, gidx, iou in buckets:
        cand_gt[pos:pos + len(rows), :gidx.shape[1]] = gidx
        cand_iou[pos:pos + len(rows), :iou.shape[1]] = iou
        pos += len(rows)
    # back to sorted-prediction order, then the step index = rank inside the (class, video) group
    srt = np.argsort(act, kind='stable')
    act, cand_gt, cand_iou = act[srt], cand_gt[srt], cand_iou[srt]
    a_key = p_key[act]
    grp = np.argsort(a_key, kind='stable')
    key_sorted = a_key[grp]
    new_group = np.ones(len(act), dtype=bool)
    new_group[1:] = key_sorted[1:] != key_sorted[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(act)), 0))
    step = np.empty(len(act), dtype=np.int64)
    step[grp] = np.arange(len(act)) - group_start
    by_step = np.argsort(step, kind='stable')
    bounds = np.concatenate([[0], np.cumsum(np.bincount(step))])

    cand_ok = cand_iou[None] >= thr[:, None, None]  # [T, A, K]
    taken = np.zeros((num_thr, num_gt + 1), dtype=bool)
    tp_act = np.zeros((num_thr, len(act)), dtype=bool)
    for k in range(len(bounds) - 1):
        rows = by_step[bounds[k]:bounds[k + 1]]
        gts = cand_gt[rows]  # [A, K]
        ok = cand_ok[:, rows] & ~taken[:, gts]  # [T, A, K]
        hit = ok.any(axis=2)
        first = ok.argmax(axis=2)
        ti, ai = np.nonzero(hit)
        taken[ti, gts[ai, first[ti, ai]]] = True
        tp_act[:, rows] = hit
    tp[:, act] = tp_act
    return order, tp


def average_precision_per_class(inputs: DetectionInputs, thr: np.ndarray) -> np.ndarray:
    """``[T, C_present]`` AP; columns follow ``inputs.present_classes``."""
    present = inputs.present_classes
    order, tp = match_predictions(inputs, thr)
    labels_sorted = inputs.pred_label[order]
    npos = np.bincount(inputs.gt_label, minlength=len(inputs.classes))
    starts = np.searchsorted(labels_sorted, present, side='left')
    ends = np.searchsorted(labels_sorted, present, side='right')
    ap = np.zeros((len(thr), len(present)))
    for j, (c, s, e) in enumerate(zip(present.tolist(), starts.tolist(), ends.tolist())):
        if e == s:
            continue
        tp_c = tp[:, s:e]
        tp_cum = np.cumsum(tp_c, axis=1).astype(np.float64)
        fp_cum = np.cumsum(~tp_c, axis=1).astype(np.float64)
        recall = tp_cum / float(npos[c])
        precision = tp_cum / (tp_cum + fp_cum)
        ap[:, j] = interpolated_ap(precision, recall)
    return ap


def detection_map(ground_truth: Mapping, predictions: Mapping,
                  tiou_thresholds: Sequence[float] = THUMOS14_TIOU_THRESHOLDS,
                  classes: Optional[Sequence[str]] = None,
                  unknown_labels: str = 'error') -> Dict:
    """ActivityNet detection mAP.

    Args:
        ground_truth: ``video -> [{"segment": [s, e], "label": str}]`` (seconds). Every video
            that was evaluated should be a key (``[]`` if it has no action): predictions in it are
            false positives. Exact duplicates are removed.
        predictions: ``video -> [{"segment": [s, e], "label": str, "score": float}]``
            (ActivityNet ``results``). Videos absent from the ground truth are ignored (warning).
        tiou_thresholds: tIoU thresholds in [0, 1].
        classes: known class names (reporting order); default: sorted ground-truth labels.
        unknown_labels: ``'error'`` raises :class:`UnknownLabelError` listing the labels;
            ``'ignore'`` drops them with a warning and lists them in ``ignored_labels``.

    Returns:
        dict with ``tiou_thresholds`` (list), ``mAP`` (list, per threshold), ``average_mAP``,
        ``per_class_AP`` ``{class: [AP per threshold]}`` (classes with ground truth),
        ``num_predictions`` (evaluated), and bookkeeping: ``num_ground_truth``,
        ``num_duplicate_ground_truth``, ``ignored_labels``, ``num_ignored_label_predictions``,
        ``ignored_videos``, ``num_ignored_video_predictions``. Values are fractions in [0, 1].
    """
    thr = check_thresholds(tiou_thresholds)
    inputs = prepare_detection_inputs(ground_truth, predictions, classes=classes,
                                      unknown_labels=unknown_labels)
    return summarise_detection(inputs, thr, average_precision_per_class(inputs, thr))
