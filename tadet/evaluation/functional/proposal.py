"""Average recall vs average number of proposals (AR@AN), ActivityNet proposal protocol.

Semantics of ActivityNet's ``average_recall_vs_avg_nr_proposals``:

* class-agnostic; only videos with at least one ground-truth instance count;
* proposals of a video are sorted by score (descending, stable) and truncated to
  ``min(int(n * ratio), n)`` with ``ratio = max_avg_num_proposals * V / total proposals``;
* for 100 budgets ``pcn = (1..100)/100 * max_avg_num_proposals * V / kept proposals``, a video
  with ``n`` kept proposals uses its first ``min(int(n * pcn), n)``; a ground truth is recalled at
  a threshold when one of those has tIoU >= threshold;
* recall per (threshold, budget) = recalled / all ground truth; AR = mean over thresholds;
  AN = ``pcn * kept / V`` (= 1..100 % of ``max_avg_num_proposals``);
* AUC = area under AR(AN) (trapezoids) / the last AN, a fraction in [0, 1] (ActivityNet prints
  it x100).

Differences, by choice: proposals of videos absent from the ground truth are ignored (warning)
and do not enter the ratio; exact duplicate ground truth is removed.
"""
from typing import Dict, Mapping, Sequence

import numpy as np

from .inputs import check_thresholds, prepare_detection_inputs
from .tiou import tiou_broadcast


def average_recall_at_num_proposals(ground_truth: Mapping, proposals: Mapping,
                                    tiou_thresholds: Sequence[float] = tuple(
                                        np.linspace(0.5, 0.95, 10)),
                                    max_avg_num_proposals: float = 100) -> Dict:
    """AR@AN curve.

    Args:
        ground_truth: ``video -> [{"segment": [s, e], ...}]`` (labels not needed).
        proposals: ``video -> [{"segment": [s, e], "score": float, ...}]``.
        tiou_thresholds: thresholds averaged into AR.
        max_avg_num_proposals: the largest AN of the curve (ActivityNet: 100). ``None``:
            the average number of proposals per video.

    Returns:
        dict: ``num_proposals`` [100] (AN), ``average_recall`` [100], ``recall`` [T, 100],
        ``auc`` (fraction), ``tiou_thresholds`` (list). Arrays are numpy.
    """
    thr = check_thresholds(tiou_thresholds)
    inputs = prepare_detection_inputs(ground_truth, proposals, class_labels=False,
                                      source='proposals')
    video_ids = np.unique(inputs.gt_video)  # videos with ground truth
    num_videos = len(video_ids)
    pcn_base = np.arange(1, 101) / 100.0
    if num_videos == 0:
        raise ValueError('AR@AN: the ground truth has no instance')
    in_lst = np.isin(inputs.pred_video, video_ids)
    pred_video = inputs.pred_video[in_lst]
    pred_segment = inputs.pred_segment[in_lst]
    pred_score = inputs.pred_score[in_lst]
    total_in = len(pred_score)
    if max_avg_num_proposals is None:
        max_avg_num_proposals = total_in / num_videos
    num_gt = len(inputs.gt_video)

    # sort once by (video, score desc, input order)
    order = np.argsort(-pred_score, kind='stable')
    order = order[np.argsort(pred_video[order], kind='stable')]
    pred_video, pred_segment = pred_video[order], pred_segment[order]
    p_first = np.searchsorted(pred_video, video_ids, side='left')
    p_count = np.searchsorted(pred_video, video_ids, side='right') - p_first
    ratio = max_avg_num_proposals * num_videos / total_in if total_in else 0.0
    kept = np.minimum((p_count * ratio).astype(np.int64), p_count)
    total_kept = int(kept.sum())

    if total_kept == 0:
        recall = np.zeros((len(thr), len(pcn_base)))
        num_proposals = pcn_base * max_avg_num_proposals
    else:
        pcn = pcn_base * (max_avg_num_proposals * num_videos / total_kept)
        # per gt: index of the first proposal hitting each threshold (kept proposals only)
        first_hit = np.full((num_gt, len(thr)), np.iinfo(np.int64).max, dtype=np.int64)
        n_of_gt = np.zeros(num_gt, dtype=np.int64)
        g_order = np.argsort(inputs.gt_video, kind='stable')
        g_vid = inputs.gt_video[g_order]
        g_first = np.searchsorted(g_vid, video_ids, side='left')
        g_last = np.searchsorted(g_vid, video_ids, side='right')
        for i in range(num_videos):
            gi = g_order[g_first[i]:g_last[i]]
            n = int(kept[i])
            # a video without proposals counts as one column of zeros (as ActivityNet)
            n_of_gt[gi] = max(n, 1)
            if n == 0:
                continue
            ps = pred_segment[p_first[i]:p_first[i] + n]
            gs = inputs.gt_segment[gi]
            iou = tiou_broadcast(gs[:, None, 0], gs[:, None, 1], ps[None, :, 0], ps[None, :, 1])
            hit = iou[:, None, :] >= thr[None, :, None]  # [G, T, P]
            first_hit[gi] = np.where(hit.any(axis=2), hit.argmax(axis=2),
                                     np.iinfo(np.int64).max)
        budget = np.minimum((n_of_gt[:, None] * pcn[None, :]).astype(np.int64),
                            n_of_gt[:, None])  # [G, 100]
        matches = (first_hit[:, :, None] < budget[:, None, :]).sum(axis=0)  # [T, 100]
        recall = matches / float(num_gt)
        num_proposals = pcn * (float(total_kept) / num_videos)
    average_recall = recall.mean(axis=0)
    auc = float(np.trapezoid(average_recall, num_proposals) / num_proposals[-1])
    return dict(num_proposals=num_proposals, average_recall=average_recall, recall=recall,
                auc=auc, tiou_thresholds=thr.tolist())


def recall_at(result: Dict, num: float) -> float:
    """AR at ``num`` average proposals from an :func:`average_recall_at_num_proposals` result
    (the curve point when ``num`` is on it, else linear interpolation)."""
    an = np.asarray(result['num_proposals'])
    ar = np.asarray(result['average_recall'])
    near = np.nonzero(np.isclose(an, num, rtol=1e-9, atol=1e-9))[0]
    if len(near):
        return float(ar[near[0]])
    return float(np.interp(num, an, ar))
