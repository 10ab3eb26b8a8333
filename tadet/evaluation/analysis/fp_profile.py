"""DETAD-style false-positive profile (Alwassel et al., "Diagnosing Error in Temporal Action
Detectors", ECCV 2018).

All predictions of the dataset are visited in descending score order; each is either a true
positive or one error type, at a tIoU threshold ``alpha`` (and ``min_tiou`` = 0.1 for "some
overlap"):

* ``true_positive``: right class, tIoU >= alpha with a ground truth not matched yet (the
  highest-tIoU such ground truth is matched, as in the mAP protocol);
* ``double_detection``: right class, tIoU >= alpha, but every such ground truth was already
  matched by a higher-scoring prediction;
* ``wrong_label``: tIoU >= alpha only with ground truth of another class;
* ``localization``: right class, min_tiou <= tIoU < alpha;
* ``confusion``: another class, min_tiou <= tIoU < alpha;
* ``background``: tIoU < min_tiou with every ground truth.

The profile counts the categories among the top ``k * G`` predictions (``G`` = number of
ground-truth instances, ``k = 1..top_k``), as DETAD's false-positive profile does.
"""
from typing import Dict, List, Mapping, Optional

import numpy as np

from ..functional.tiou import segment_tiou

ERROR_TYPES = ('double_detection', 'wrong_label', 'localization', 'confusion', 'background')
CATEGORIES = ('true_positive', ) + ERROR_TYPES
COLORS = dict(true_positive='tab:green', double_detection='tab:olive', wrong_label='tab:purple',
              localization='tab:orange', confusion='tab:pink', background='tab:gray')


def _flatten(predictions: Mapping) -> List[tuple]:
    flat = []
    for video, entries in predictions.items():
        for e in entries:
            flat.append((float(e['score']), str(video), float(e['segment'][0]),
                         float(e['segment'][1]), str(e['label'])))
    # descending score; ties keep the input order (stable)
    order = sorted(range(len(flat)), key=lambda i: -flat[i][0])
    return [flat[i] for i in order]


def classify_predictions(ground_truth: Mapping, predictions: Mapping, tiou_thr: float = 0.5,
                         min_tiou: float = 0.1,
                         max_predictions: Optional[int] = None) -> List[dict]:
    """Category of every prediction (see the module docstring), in descending score order.

    Args:
        ground_truth: ``video -> [{"segment": [s, e], "label": str}]`` (seconds).
        predictions: ``video -> [{"segment", "label", "score"}]``; videos absent from the
            ground truth are ignored.
        tiou_thr: alpha, the tIoU of a correct localisation.
        min_tiou: below this tIoU with every ground truth a prediction is background.
        max_predictions: visit only the best ones.
    Returns:
        list of dict(video, segment, label, score, category, tiou (best tIoU with any ground
        truth)).
    """
    if not 0 <= min_tiou <= tiou_thr <= 1:
        raise ValueError(f'need 0 <= min_tiou <= tiou_thr <= 1, got {min_tiou}, {tiou_thr}')
    gts = {}
    for video, entries in ground_truth.items():
        segs = np.asarray([e['segment'] for e in entries], np.float64).reshape(-1, 2)
        gts[video] = (segs, np.asarray([str(e['label']) for e in entries]),
                      np.zeros(len(entries), bool))
    preds = [p for p in _flatten(predictions) if p[1] in gts]
    if max_predictions is not None:
        preds = preds[:max_predictions]
    out = []
    for score, video, start, end, label in preds:
        segs, labels, matched = gts[video]
        iou = segment_tiou(np.asarray([[start, end]]), segs)[0] if len(segs) else np.zeros(0)
        same = labels == label
        best = float(iou.max()) if iou.size else 0.0
        hit = same & (iou >= tiou_thr)
        if hit.any():
            free = np.nonzero(hit & ~matched)[0]
            if free.size:
                matched[free[np.argmax(iou[free])]] = True
                cat = 'true_positive'
            else:
                cat = 'double_detection'
        elif (~same & (iou >= tiou_thr)).any():
            cat = 'wrong_label'
        elif (same & (iou >= min_tiou)).any():
            cat = 'localization'
        elif (iou >= min_tiou).any():
            cat = 'confusion'
        else:
            cat = 'background'
        out.append(dict(video=video, segment=[start, end], label=label, score=score,
                        category=cat, tiou=best))
    return out


def false_positive_profile(ground_truth: Mapping, predictions: Mapping, tiou_thr: float = 0.5,
                           min_tiou: float = 0.1, top_k: int = 10) -> Dict:
    """Category counts among the top ``k * G`` predictions for ``k = 1..top_k``.

    Returns:
        dict(categories, top_k [1..top_k], counts ``[top_k, 6]`` (int, columns follow
        ``categories``), num_ground_truth ``G``, num_predictions (visited), tiou_thr, min_tiou,
        error_breakdown ``{error type: fraction of the errors in the top top_k * G}``).
    """
    num_gt = sum(len(v) for v in ground_truth.values())
    cls = classify_predictions(ground_truth, predictions, tiou_thr, min_tiou,
                               max_predictions=top_k * num_gt)
    cat_idx = np.asarray([CATEGORIES.index(c['category']) for c in cls], dtype=np.int64)
    counts = np.zeros((top_k, len(CATEGORIES)), dtype=np.int64)
    for k in range(1, top_k + 1):
        counts[k - 1] = np.bincount(cat_idx[:k * num_gt], minlength=len(CATEGORIES))
    errors = counts[-1, 1:]
    total = max(int(errors.sum()), 1)
    return dict(categories=list(CATEGORIES), top_k=list(range(1, top_k + 1)),
                counts=counts.tolist(), num_ground_truth=int(num_gt),
                num_predictions=len(cls), tiou_thr=float(tiou_thr), min_tiou=float(min_tiou),
                error_breakdown={e: float(n) / total for e, n in zip(ERROR_TYPES, errors)})


def format_fp_table(profile: Dict) -> str:
    """terminaltables table: percentage of each category among the top k*G predictions."""
    from terminaltables import AsciiTable
    rows = [['top'] + [c.replace('_', ' ') for c in profile['categories']]]
    for k, counts in zip(profile['top_k'], profile['counts']):
        n = max(sum(counts), 1)
        rows.append([f'{k}G'] + [f'{100 * c / n:.1f}' for c in counts])
    t = AsciiTable(rows, title=f' false-positive profile (%) at tIoU {profile["tiou_thr"]:.2f}, '
                   f'G = {profile["num_ground_truth"]} ')
    return t.table


def plot_fp_profile(profile: Dict, path: str) -> str:
    """DETAD-style figure: stacked categories over the top 1G..KG predictions, and the
    breakdown of the errors among the top KG. Writes ``path`` (PNG)."""
    import os
    import os.path as osp

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    counts = np.asarray(profile['counts'], dtype=np.float64)
    frac = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    ks = np.asarray(profile['top_k'])
    fig = Figure(figsize=(10, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 1)
    bottom = np.zeros(len(ks))
    for j, c in enumerate(profile['categories']):
        ax.bar(ks, frac[:, j], bottom=bottom, color=COLORS[c], label=c.replace('_', ' '),
               width=0.85)
        bottom += frac[:, j]
    ax.set_xticks(ks)
    ax.set_xticklabels([f'{k}G' for k in ks])
    ax.set_xlabel('top predictions (G = number of ground-truth instances)')
    ax.set_ylabel('predictions (%)')
    ax.set_ylim(0, 100)
    ax.set_title(f'False-positive profile, tIoU {profile["tiou_thr"]:.2f}')
    # one legend under both panels: inside, it would hide the bars
    fig.legend(*ax.get_legend_handles_labels(), loc='lower center', ncol=len(CATEGORIES),
               fontsize=8, frameon=False)
    ax = fig.add_subplot(1, 2, 2)
    errs = [100 * profile['error_breakdown'][e] for e in ERROR_TYPES]
    bars = ax.bar(range(len(ERROR_TYPES)), errs, color=[COLORS[e] for e in ERROR_TYPES])
    for b, v in zip(bars, errs):
        ax.text(b.get_x() + b.get_width() / 2, v + 1, f'{v:.1f}', ha='center', fontsize=8)
    ax.set_xticks(range(len(ERROR_TYPES)))
    ax.set_xticklabels([e.replace('_', '\n') for e in ERROR_TYPES], fontsize=8)
    ax.set_ylabel(f'errors among the top {ks[-1]}G (%)')
    ax.set_ylim(0, 105)
    ax.set_title('Error breakdown')
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
