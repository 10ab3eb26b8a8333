"""Signed boundary errors: are a detector's segments systematically shorter or shifted?

For every ground-truth instance, the best same-class detection of its video among the video's
``top_k`` highest-scoring detections (best = highest tIoU, at least ``tiou``) gives
``start error = pred start - gt start`` and ``end error = pred end - gt end`` (seconds). A
detector that cuts actions short has positive start errors and negative end errors; one that
is only shifted has errors of the same sign. Instances without such a detection are counted,
not scored.
"""
from typing import Dict, List, Optional

import numpy as np

Predictions = Dict[str, List[dict]]


def boundary_errors(ground_truth: Predictions, predictions: Predictions, tiou: float = 0.5,
                    top_k: int = 100, snippet_seconds: Optional[float] = None) -> dict:
    """Signed start / end errors of the best match of each ground-truth instance.

    Args:
        ground_truth / predictions: ``video -> [{"segment": [s, e], "label": name, ("score")}]``
            in seconds.
        tiou: a match needs at least this tIoU.
        top_k: detections of a video considered (its best by score).
        snippet_seconds: if given, the summary also gives the medians in snippets.

    Returns:
        dict(matched, unmatched, start / end / length: dict(median, mean, p25, p75) in seconds,
        per_instance: list of (video, label, gt start, gt end, pred start, pred end)).
    """
    rows = []
    unmatched = 0
    for video, gts in ground_truth.items():
        dets = sorted(predictions.get(video, []), key=lambda d: -float(d['score']))[:top_k]
        for g in gts:
            gs, ge = (float(x) for x in g['segment'])
            best, best_iou = None, tiou
            for d in dets:
                if d['label'] != g['label']:
                    continue
                ps, pe = (float(x) for x in d['segment'])
                inter = max(0.0, min(pe, ge) - max(ps, gs))
                union = max(pe, ge) - min(ps, gs)
                iou = inter / union if union > 0 else 0.0
                if iou >= best_iou:
                    best, best_iou = (ps, pe), iou
            if best is None:
                unmatched += 1
                continue
            rows.append((video, g['label'], gs, ge, best[0], best[1]))

    def stats(values: np.ndarray) -> dict:
        if values.size == 0:
            return dict(median=None, mean=None, p25=None, p75=None)
        return dict(median=float(np.median(values)), mean=float(values.mean()),
                    p25=float(np.percentile(values, 25)), p75=float(np.percentile(values, 75)))

    a = np.array([r[2:] for r in rows], dtype=np.float64).reshape(-1, 4)
    start, end = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    out = dict(tiou=tiou, top_k=top_k, matched=len(rows), unmatched=unmatched,
               start=stats(start), end=stats(end), length=stats(end - start),
               per_instance=[list(r) for r in rows])
    if snippet_seconds:
        out['snippet_seconds'] = snippet_seconds
    return out


def format_boundary_table(result: dict) -> str:
    """The summary as text (seconds; snippets too when known)."""
    sn = result.get('snippet_seconds')
    lines = [f'boundary errors of the best same-class detection (tIoU >= {result["tiou"]}, top '
             f'{result["top_k"]} per video): {result["matched"]} matched, '
             f'{result["unmatched"]} unmatched ground-truth instances',
             '            median     mean      p25      p75   (seconds; pred - gt)']
    for key in ('start', 'end', 'length'):
        s = result[key]
        if s['median'] is None:
            lines.append(f'  {key:<7}  -')
            continue
        extra = f'   median {s["median"] / sn:+.2f} snippets' if sn else ''
        lines.append(f'  {key:<7} {s["median"]:+8.3f} {s["mean"]:+8.3f} {s["p25"]:+8.3f} '
                     f'{s["p75"]:+8.3f}{extra}')
    return '\n'.join(lines)
