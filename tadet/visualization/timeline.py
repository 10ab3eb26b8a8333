"""Detection timeline of one video: ground truth against the top predictions."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np


def _class_colors(names: Sequence[str]) -> Dict[str, tuple]:
    """Distinct colours for the classes drawn (tab10, tab20 beyond 10 classes)."""
    from matplotlib import colormaps
    cmap = colormaps['tab10' if len(names) <= 10 else 'tab20']
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def plot_detection_timeline(ground_truth: Sequence[dict], predictions: Sequence[dict],
                            path: str, video: str = '', duration: Optional[float] = None,
                            top: int = 10, tiou_thr: float = 0.5,
                            classes: Optional[Sequence[str]] = None) -> str:
    """Timeline PNG of one video.

    Top row: the ground-truth segments, coloured by class. Below, one row per prediction (the
    ``top`` highest scores, best first), coloured by predicted class, opacity = score, with
    ``label score`` written on it; a solid black edge marks a prediction overlapping a
    same-class ground truth at tIoU >= ``tiou_thr``, a dashed edge the others.

    Args:
        ground_truth: ``[{"segment": [s, e], "label": str}]`` (seconds).
        predictions: ``[{"segment": [s, e], "label": str, "score": float}]``.
        path: output PNG.
        duration: x-axis end (default: the last segment end).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from tadet.evaluation.functional import segment_tiou
    preds = sorted(predictions, key=lambda p: -float(p['score']))[:max(int(top), 0)]
    drawn = {str(e['label']) for e in list(ground_truth) + preds}
    # colours for the drawn classes only (in the dataset's class order when given)
    names = [c for c in classes if c in drawn] if classes else sorted(drawn)
    names += sorted(drawn - set(names))
    colors = _class_colors(names)
    gt_segs = np.asarray([g['segment'] for g in ground_truth], np.float64).reshape(-1, 2)
    gt_labels = np.asarray([str(g['label']) for g in ground_truth])
    end = duration or max([1.0] + [float(e['segment'][1]) for e in list(ground_truth) + preds])
    rows = 1 + len(preds)
    fig = Figure(figsize=(11, 1.2 + 0.38 * rows))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for (s, e), lab in zip(gt_segs, gt_labels):
        ax.barh(0, e - s, left=s, height=0.7, color=colors.get(lab, 'k'), edgecolor='k',
                linewidth=0.5)
    for i, p in enumerate(preds):
        s, e = (float(x) for x in p['segment'])
        lab, score = str(p['label']), float(p['score'])
        hit = False
        if len(gt_segs):
            iou = segment_tiou(np.asarray([[s, e]]), gt_segs)[0]
            hit = bool(((gt_labels == lab) & (iou >= tiou_thr)).any())
        ax.barh(i + 1, max(e - s, end * 1e-3), left=s, height=0.7, color=colors.get(lab, 'k'),
                alpha=0.25 + 0.75 * min(max(score, 0.0), 1.0), edgecolor='k',
                linestyle='-' if hit else '--', linewidth=1.2 if hit else 0.8)
        ax.text(s, i + 1, f' {lab} {score:.2f}', va='center', fontsize=7)
    ax.set_yticks(range(rows))
    ax.set_yticklabels(['ground truth'] + [f'#{i + 1}' for i in range(len(preds))], fontsize=8)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0, end)
    ax.set_xlabel('time (s)')
    ax.set_title(f'{video}: ground truth and top {len(preds)} predictions '
                 f'(solid edge: tIoU >= {tiou_thr:.2f} with a same-class ground truth)',
                 fontsize=9)
    ax.legend(handles=[Patch(color=colors[n], label=n) for n in names], fontsize=7,
              loc='upper left', bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis='x', alpha=0.3)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


__all__: List[str] = ['plot_detection_timeline']
