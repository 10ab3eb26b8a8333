"""Benchmark the vectorised detection mAP against the slow loop reference.

Builds a THUMOS14-sized case: the real test-subset ground truth (210 videos) and ~10,000 seeded
random predictions near it; times :func:`detection_map` and :func:`reference_detection_map` in the
same run (best of several repeats), checks the results are identical and prints the speedup.

    python tools/benchmark_eval.py [--ann data/thumos14/annotations/thumos_gt.json]
        [--num-predictions 10000] [--repeats 20] [--ref-repeats 3] [--seed 0]
"""
import argparse
import os.path as osp
import sys
import time
import warnings

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tadet.evaluation.functional import (THUMOS14_TIOU_THRESHOLDS, detection_map,  # noqa: E402
                                         load_ground_truth, reference_detection_map)
from tadet.evaluation.functional.report import format_map_table  # noqa: E402

DEFAULT_ANN = osp.join(ROOT, 'data', 'thumos14', 'annotations', 'thumos_gt.json')
DEFAULT_CLASSES = osp.join(ROOT, 'data', 'thumos14', 'annotations', 'Class_Index_Detection.txt')


def make_predictions(ground_truth: dict, classes: list, num_predictions: int, seed: int) -> dict:
    """Seeded predictions near the ground truth: 75 % jittered copies of a gt instance of the
    video (90 % with its label), 25 % random segments; scores rounded to 3 decimals (ties)."""
    rng = np.random.default_rng(seed)
    videos = list(ground_truth)
    per_video = np.bincount(rng.integers(0, len(videos), num_predictions), minlength=len(videos))
    preds = {}
    for video, n in zip(videos, per_video.tolist()):
        anns = ground_truth[video]
        span = max([a['segment'][1] for a in anns] + [60.0]) + 10.0
        out = []
        for _ in range(n):
            if anns and rng.random() < 0.75:
                a = anns[rng.integers(len(anns))]
                s, e = a['segment']
                length = max(e - s, 0.1)
                center = (s + e) / 2 + rng.normal(0, 0.25) * length
                length *= float(np.exp(rng.normal(0, 0.3)))
                label = a['label'] if rng.random() < 0.9 else classes[rng.integers(len(classes))]
            else:
                center = float(rng.uniform(0, span))
                length = float(rng.uniform(0.5, 20))
                label = classes[rng.integers(len(classes))]
            start = max(0.0, center - length / 2)
            out.append(dict(segment=[round(start, 2), round(start + length, 2)], label=label,
                            score=round(float(rng.random()), 3)))
        preds[video] = out
    return preds


def best_time(fn, repeats: int):
    best, out = float('inf'), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ann', default=DEFAULT_ANN)
    parser.add_argument('--subset', default='test')
    parser.add_argument('--classes', default=DEFAULT_CLASSES)
    parser.add_argument('--num-predictions', type=int, default=10000)
    parser.add_argument('--tiou-thresholds', type=float, nargs='+',
                        default=list(THUMOS14_TIOU_THRESHOLDS))
    parser.add_argument('--repeats', type=int, default=20, help='repeats of the fast version')
    parser.add_argument('--ref-repeats', type=int, default=3, help='repeats of the reference')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    classes = [line.split()[-1] for line in open(args.classes) if line.strip()]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        gt = load_ground_truth(args.ann, args.subset, args.classes)
    preds = make_predictions(gt, classes, args.num_predictions, args.seed)
    num_gt = sum(len(v) for v in gt.values())
    num_pred = sum(len(v) for v in preds.values())
    print(f'case: {len(gt)} videos ({args.subset}), {num_gt} ground truth, {num_pred} predictions,'
          f' {len(args.tiou_thresholds)} thresholds {args.tiou_thresholds}')

    def fast():
        return detection_map(gt, preds, args.tiou_thresholds, classes=classes)

    def ref():
        return reference_detection_map(gt, preds, args.tiou_thresholds, classes=classes)

    t_fast, r_fast = best_time(fast, args.repeats)
    t_ref, r_ref = best_time(ref, args.ref_repeats)
    identical = r_fast == r_ref
    print(format_map_table(r_fast))
    print(f'detection_map (vectorised): {t_fast * 1000:8.1f} ms  (best of {args.repeats})')
    print(f'reference loop            : {t_ref * 1000:8.1f} ms  (best of {args.ref_repeats})')
    print(f'speedup                   : {t_ref / t_fast:8.1f}x')
    print(f'identical results         : {identical}')
    return 0 if identical else 1


if __name__ == '__main__':
    sys.exit(main())
