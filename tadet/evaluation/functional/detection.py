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

How it is fast: the tIoUs of all (prediction, ground truth of its group) pairs are computed at
once and only pairs at tIoU >= the smallest threshold are kept; rows whose kept tIoUs tie are
re-ordered with numpy's own argsort, so ties resolve exactly as in the loop. The greedy matching
is sequential only inside one (video, class) group and only for predictions with a candidate
(the others are false positives at every threshold). Groups are independent, so step ``k``
processes the k-th such prediction of *every* group at once, for all thresholds, against a
per-threshold "taken" mask: the Python loop runs ``max group size`` times, not once per
prediction.
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


def _exact_visit_order(rows, p_seg, g_seg, g_first, g_count, min_thr):
    """Candidates of ``rows`` in the exact order of ``tiou.argsort()[::-1]`` (per row, ties as
    numpy orders them): rows of equal length are argsorted together, which equals argsorting
    each row on its own."""
    out_pred, out_gt, out_iou = [], [], []
    sizes = g_count[rows]
    for size in np.unique(sizes).tolist():
        r = rows[sizes == size]
        gidx = g_first[r, None] + np.arange(size)
        iou = tiou_broadcast(p_seg[r, 0:1], p_seg[r, 1:2], g_seg[gidx, 0], g_seg[gidx, 1])
        visit = np.argsort(iou, axis=1)[:, ::-1]
        iou_v = np.take_along_axis(iou, visit, axis=1)
        is_cand = iou_v >= min_thr  # a prefix of each row: iou_v is non-increasing
        out_pred.append(np.broadcast_to(r[:, None], is_cand.shape)[is_cand])
        out_gt.append(np.take_along_axis(gidx, visit, axis=1)[is_cand])
        out_iou.append(iou_v[is_cand])
    return out_pred, out_gt, out_iou


def _candidates(p_seg, g_seg, g_first, g_count, min_thr, num_gt):
    """For each prediction with a ground truth at tIoU >= ``min_thr`` in its (class, video)
    group: those ground truths in the official visiting order.

    Returns ``(act [A] ascending prediction indices, cand_gt [A, K], cand_iou [A, K])``, padded
    with ``num_gt`` / ``-inf``.
    """
    rows = np.nonzero(g_count > 0)[0]
    empty = (np.zeros(0, np.int64), np.zeros((0, 1), np.int64), np.zeros((0, 1)))
    if len(rows) == 0:
        return empty
    # all (prediction, gt of its group) pairs, pair tIoU element-wise (same arithmetic as the
    # per-prediction computation, so the same values)
    cnt = g_count[rows]
    offs = np.cumsum(cnt) - cnt
    pair_pred = np.repeat(rows, cnt)
    pair_gt = np.arange(int(cnt.sum())) - np.repeat(offs - g_first[rows], cnt)
    iou = tiou_broadcast(p_seg[pair_pred, 0], p_seg[pair_pred, 1], g_seg[pair_gt, 0],
                         g_seg[pair_gt, 1])
    keep = np.nonzero(iou >= min_thr)[0]
    c_pred, c_gt, c_iou = pair_pred[keep], pair_gt[keep], iou[keep]
    # descending tIoU inside each prediction; where a prediction has equal tIoUs among its
    # candidates the order must be numpy's argsort()[::-1] one: recompute those rows exactly
    o = np.lexsort((-c_iou, c_pred))
    c_pred, c_gt, c_iou = c_pred[o], c_gt[o], c_iou[o]
    tie = (c_pred[1:] == c_pred[:-1]) & (c_iou[1:] == c_iou[:-1])
    if tie.any():
        tied = np.unique(c_pred[1:][tie])
        plain = ~np.isin(c_pred, tied)
        ex_pred, ex_gt, ex_iou = _exact_visit_order(tied, p_seg, g_seg, g_first, g_count,
                                                    min_thr)
        c_pred = np.concatenate([c_pred[plain]] + ex_pred)
        c_gt = np.concatenate([c_gt[plain]] + ex_gt)
        c_iou = np.concatenate([c_iou[plain]] + ex_iou)
        o = np.argsort(c_pred, kind='stable')  # keeps each row's visiting order
        c_pred, c_gt, c_iou = c_pred[o], c_gt[o], c_iou[o]
    if len(c_pred) == 0:
        return empty
    act, first, ncand = np.unique(c_pred, return_index=True, return_counts=True)
    width = int(ncand.max())
    row_of = np.repeat(np.arange(len(act)), ncand)
    col_of = np.arange(len(c_pred)) - np.repeat(first, ncand)
    cand_gt = np.full((len(act), width), num_gt, dtype=np.int64)  # num_gt: never-taken pad
    cand_iou = np.full((len(act), width), -np.inf)
    cand_gt[row_of, col_of] = c_gt
    cand_iou[row_of, col_of] = c_iou
    return act, cand_gt, cand_iou


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

    act, cand_gt, cand_iou = _candidates(p_seg, g_seg, g_first, g_count, thr.min(), num_gt)
    if len(act) == 0:
        return order, tp
    # step index = rank of a prediction inside its (class, video) group
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
