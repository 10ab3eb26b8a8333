"""SLOW REFERENCE of the detection mAP: a literal per-prediction loop.

For tests and benchmarks only (``tools/benchmark_eval.py``); use
:func:`tadet.evaluation.functional.detection_map` everywhere else. It follows ActivityNet's
``compute_average_precision_detection`` / ``interpolated_prec_rec`` step by step, without pandas,
with two fixed choices shared with the fast version: the score sort is stable (ties: input order)
and exact duplicate ground truth is removed (by the shared input preparation).
"""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from .detection import THUMOS14_TIOU_THRESHOLDS
from .inputs import check_thresholds, prepare_detection_inputs, summarise_detection
from .tiou import segment_tiou


def reference_interpolated_prec_rec(prec: np.ndarray, rec: np.ndarray) -> float:
    """ActivityNet's ``interpolated_prec_rec``: envelope by a backward loop, sum over steps."""
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def reference_ap_one_class(gt_video, gt_segment, pred_video, pred_segment, pred_score,
                           thr: np.ndarray) -> np.ndarray:
    """AP per threshold for one class (arrays of that class only, input order)."""
    ap = np.zeros(len(thr))
    if len(pred_score) == 0:
        return ap
    npos = float(len(gt_video))
    lock_gt = np.ones((len(thr), len(gt_video))) * -1
    sort_idx = np.argsort(-pred_score, kind='stable')
    tp = np.zeros((len(thr), len(sort_idx)))
    fp = np.zeros((len(thr), len(sort_idx)))
    gt_by_video = {}
    for j, v in enumerate(gt_video.tolist()):
        gt_by_video.setdefault(v, []).append(j)
    for idx, p in enumerate(sort_idx.tolist()):
        gt_ids = gt_by_video.get(int(pred_video[p]))
        if gt_ids is None:
            fp[:, idx] = 1
            continue
        tiou_arr = segment_tiou(pred_segment[p][None], gt_segment[gt_ids])[0]
        tiou_sorted_idx = tiou_arr.argsort()[::-1]
        for tidx, tiou_thr in enumerate(thr):
            for jdx in tiou_sorted_idx:
                if tiou_arr[jdx] < tiou_thr:
                    fp[tidx, idx] = 1
                    break
                if lock_gt[tidx, gt_ids[jdx]] >= 0:
                    continue
                tp[tidx, idx] = 1
                lock_gt[tidx, gt_ids[jdx]] = idx
                break
            if fp[tidx, idx] == 0 and tp[tidx, idx] == 0:
                fp[tidx, idx] = 1
    tp_cumsum = np.cumsum(tp, axis=1).astype(np.float64)
    fp_cumsum = np.cumsum(fp, axis=1).astype(np.float64)
    recall_cumsum = tp_cumsum / npos
    precision_cumsum = tp_cumsum / (tp_cumsum + fp_cumsum)
    for tidx in range(len(thr)):
        ap[tidx] = reference_interpolated_prec_rec(precision_cumsum[tidx, :],
                                                   recall_cumsum[tidx, :])
    return ap


def reference_detection_map(ground_truth: Mapping, predictions: Mapping,
                            tiou_thresholds: Sequence[float] = THUMOS14_TIOU_THRESHOLDS,
                            classes: Optional[Sequence[str]] = None,
                            unknown_labels: str = 'error') -> Dict:
    """Same contract and result as :func:`detection_map`, computed by the slow loop."""
    thr = check_thresholds(tiou_thresholds)
    inputs = prepare_detection_inputs(ground_truth, predictions, classes=classes,
                                      unknown_labels=unknown_labels)
    present = inputs.present_classes
    ap = np.zeros((len(thr), len(present)))
    for j, c in enumerate(present.tolist()):
        g = inputs.gt_label == c
        p = inputs.pred_label == c
        ap[:, j] = reference_ap_one_class(inputs.gt_video[g], inputs.gt_segment[g],
                                          inputs.pred_video[p], inputs.pred_segment[p],
                                          inputs.pred_score[p], thr)
    return summarise_detection(inputs, thr, ap)
