"""Sensitivity of AP to action characteristics (DETAD-style): ground-truth instances are put in
buckets by length (seconds) and by coverage (length / video duration), and AP is computed per
bucket.

For a bucket, the ground truth is that bucket's instances; a prediction is left out when its
best-overlapping ground truth of its class (tIoU >= ``min_tiou``) lies in another bucket (it
belongs to that bucket's evaluation), and kept otherwise (true positive of this bucket or a
plain false positive). The AP is the usual interpolated AP (mAP over the classes present in the
bucket), not DETAD's normalised AP.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..functional.detection import detection_map
from ..functional.tiou import segment_tiou

Bucket = Tuple[str, float, float]  # name, lower (exclusive), upper (inclusive)
# DETAD's buckets
LENGTH_BUCKETS: Tuple[Bucket, ...] = (('XS', 0, 3), ('S', 3, 6), ('M', 6, 12), ('L', 12, 18),
                                      ('XL', 18, float('inf')))
COVERAGE_BUCKETS: Tuple[Bucket, ...] = (('XS', 0, 0.02), ('S', 0.02, 0.04), ('M', 0.04, 0.06),
                                        ('L', 0.06, 0.08), ('XL', 0.08, float('inf')))


def _bucket_of(value: float, buckets: Sequence[Bucket]) -> Optional[str]:
    for name, lo, hi in buckets:
        if lo < value <= hi:
            return name
    return None


def _assign(ground_truth: Mapping, predictions: Mapping, key, min_tiou: float) -> tuple:
    """Bucket of every ground truth and of every prediction's best same-class ground truth."""
    gt_bucket = {v: [key(v, e) for e in entries] for v, entries in ground_truth.items()}
    pred_bucket = {}
    for v, entries in predictions.items():
        if v not in ground_truth:
            continue
        g = ground_truth[v]
        segs = np.asarray([e['segment'] for e in g], np.float64).reshape(-1, 2)
        labels = np.asarray([str(e['label']) for e in g])
        out = []
        for p in entries:
            iou = segment_tiou(np.asarray([p['segment']], np.float64), segs)[0] \
                if len(g) else np.zeros(0)
            iou = np.where(labels == str(p['label']), iou, -1.0)
            j = int(np.argmax(iou)) if iou.size else -1
            out.append(gt_bucket[v][j] if j >= 0 and iou[j] >= min_tiou else None)
        pred_bucket[v] = out
    return gt_bucket, pred_bucket


def _bucket_map(ground_truth, predictions, gt_bucket, pred_bucket, name, tiou_thr, classes):
    gt = {v: [e for e, b in zip(entries, gt_bucket[v]) if b == name]
          for v, entries in ground_truth.items()}
    num = sum(len(x) for x in gt.values())
    if num == 0:
        return None, 0
    preds = {v: [p for p, b in zip(entries, pred_bucket[v]) if b is None or b == name]
             for v, entries in predictions.items() if v in pred_bucket}
    present = sorted({e['label'] for x in gt.values() for e in x})
    res = detection_map(gt, preds, [tiou_thr], classes=classes, unknown_labels='ignore')
    # classes without ground truth in the bucket have no AP: average over the present ones
    aps = [res['per_class_AP'][c][0] for c in present if c in res['per_class_AP']]
    return float(np.mean(aps)) if aps else 0.0, num


def sensitivity_analysis(ground_truth: Mapping, predictions: Mapping,
                         durations: Optional[Mapping] = None, tiou_thr: float = 0.5,
                         min_tiou: float = 0.1, classes: Optional[Sequence[str]] = None,
                         length_buckets: Sequence[Bucket] = LENGTH_BUCKETS,
                         coverage_buckets: Sequence[Bucket] = COVERAGE_BUCKETS) -> Dict:
    """mAP at ``tiou_thr`` per length bucket and (with ``durations``) per coverage bucket.

    Returns:
        dict(tiou_thr, overall (mAP on everything), length / coverage: list of dict(bucket,
        range, num_ground_truth, mAP (``None`` for an empty bucket)); coverage is ``None``
        without durations).
    """
    overall = detection_map(ground_truth, predictions, [tiou_thr], classes=classes,
                            unknown_labels='ignore')['mAP'][0]
    out = dict(tiou_thr=float(tiou_thr), overall=float(overall))

    def analyse(buckets, key):
        gt_b, pred_b = _assign(ground_truth, predictions, key, min_tiou)
        rows = []
        for name, lo, hi in buckets:
            ap, num = _bucket_map(ground_truth, predictions, gt_b, pred_b, name, tiou_thr,
                                  classes)
            rows.append(dict(bucket=name, range=[lo, hi], num_ground_truth=num, mAP=ap))
        return rows

    def length(v, e):
        return _bucket_of(e['segment'][1] - e['segment'][0], length_buckets)

    out['length'] = analyse(length_buckets, length)
    if durations and all(durations.get(v) for v in ground_truth if ground_truth[v]):
        def coverage(v, e):
            return _bucket_of((e['segment'][1] - e['segment'][0]) / durations[v],
                              coverage_buckets)
        out['coverage'] = analyse(coverage_buckets, coverage)
    else:
        out['coverage'] = None
    return out


def _range_text(lo: float, hi: float, unit: str) -> str:
    return f'>{lo:g}{unit}' if hi == float('inf') else f'({lo:g}, {hi:g}]{unit}'


def format_sensitivity_table(result: Dict) -> str:
    from terminaltables import AsciiTable
    rows = [['characteristic', 'bucket', 'range', 'instances', f'mAP@{result["tiou_thr"]:.2f}']]
    for char, unit in (('length', ' s'), ('coverage', '')):
        for r in result[char] or []:
            rows.append([char, r['bucket'], _range_text(*r['range'], unit),
                         str(r['num_ground_truth']),
                         '-' if r['mAP'] is None else f'{100 * r["mAP"]:.2f}'])
    rows.append(['all', '', '', '', f'{100 * result["overall"]:.2f}'])
    return AsciiTable(rows, title=' sensitivity to action characteristics (%) ').table


def plot_sensitivity(result: Dict, path: str) -> str:
    """Bars of mAP per bucket (one panel per characteristic), instance counts on the bars,
    the overall mAP dashed. Writes ``path`` (PNG)."""
    import os
    import os.path as osp

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    chars = [(c, u) for c, u in (('length', ' s'), ('coverage', '')) if result[c]]
    fig = Figure(figsize=(5 * len(chars), 4.2))
    FigureCanvasAgg(fig)
    for i, (char, unit) in enumerate(chars):
        ax = fig.add_subplot(1, len(chars), i + 1)
        rows = result[char]
        vals = [0 if r['mAP'] is None else 100 * r['mAP'] for r in rows]
        bars = ax.bar(range(len(rows)), vals, color='tab:blue')
        for b, r, v in zip(bars, rows, vals):
            ax.text(b.get_x() + b.get_width() / 2, v + 1, f'n={r["num_ground_truth"]}',
                    ha='center', fontsize=8)
        ax.axhline(100 * result['overall'], color='k', linestyle='--', linewidth=1,
                   label=f'all: {100 * result["overall"]:.1f}')
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([f'{r["bucket"]}\n{_range_text(*r["range"], unit)}' for r in rows],
                           fontsize=7)
        ax.set_ylim(0, min(105.0, 1.3 * max(vals + [100 * result['overall']]) + 8))
        ax.set_ylabel(f'mAP@{result["tiou_thr"]:.2f} (%)')
        ax.set_title(f'Sensitivity to action {char}')
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
