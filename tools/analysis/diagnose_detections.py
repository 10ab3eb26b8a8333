"""DETAD-style diagnosis of a detector's predictions.

``python tools/analysis/diagnose_detections.py PRED_JSON (--config CFG | --ann ANN [--subset S]
[--video-info CSV ...]) [--tiou 0.5] [--top-k 10] [--out-dir D]``

PRED_JSON is an ActivityNet result file (``tools/test.py --out``, or a benchmark run's
``predictions.json``); the ground truth comes from the config's test dataset or from an
annotation file. Writes to ``--out-dir`` (default: next to PRED_JSON):

* ``fp_profile.png``: false-positive profile over the top 1G..KG predictions (true positive,
  double detection, wrong label, localization, confusion, background) and the error breakdown;
* ``sensitivity.png``: mAP at ``--tiou`` per action-length and coverage bucket;
* ``per_class_AP.png``: per-class AP over the config's tIoU thresholds (TADMetric's plot);
* the signed boundary errors (start / end / length, pred - gt, seconds) of each ground-truth
  instance's best same-class detection (tIoU >= ``--tiou`` among the video's ``--boundary-top``
  best): a detector that cuts actions short has start > 0 and end < 0;
* ``diagnosis.json``: the numbers; the tables are printed.

Ground truth is counted by the one rule of ``tools/test.py`` and ``tools/evaluate.py``
(``tadet.evaluation.analysis.load_reference``): the annotation file's segments, clipped to
``[0, duration]`` where the video's duration is known and dropped when wholly outside. With
``--config`` the durations are the test dataset's (THUMOS14: ``test_video_info.csv``, 3307
instances); with ``--ann`` only those of the file or of ``--video-info`` (THUMOS14 test without
it: 3311, like ``tools/evaluate.py`` without it).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def add_reference_args(p: argparse.ArgumentParser) -> None:
    """Where the ground truth comes from (shared with plot_timeline.py)."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--config', help='config whose test dataset is the ground truth')
    src.add_argument('--ann', help='ActivityNet-format annotation file')
    p.add_argument('--subset', nargs='+', help='subset(s) of --ann (e.g. test)')
    p.add_argument('--video-info', nargs='+', help='CSV(s) with video durations (THUMOS14): '
                   'ground truth is clipped to them, as with the configs')
    p.add_argument('--classes', help='class map of --ann (file)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)


def load_reference_from_args(args):
    from tadet.evaluation.analysis import load_reference
    return load_reference(config=args.config, ann_file=args.ann, subset=args.subset,
                          video_info=args.video_info, classes=args.classes,
                          cfg_options=args.cfg_options)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='False-positive profile, sensitivity and per-class '
                                'AP of a prediction file')
    p.add_argument('predictions', help='ActivityNet result JSON')
    add_reference_args(p)
    p.add_argument('--tiou', type=float, default=0.5, help='tIoU threshold (default 0.5)')
    p.add_argument('--tiou-thresholds', nargs='+', type=float,
                   default=[0.3, 0.4, 0.5, 0.6, 0.7], help='thresholds of the per-class plot')
    p.add_argument('--top-k', type=int, default=10, help='profile over top 1G..KG (default 10)')
    p.add_argument('--boundary-top', type=int, default=100,
                   help='detections per video searched for the boundary errors (default 100)')
    p.add_argument('--out-dir', help='output folder (default: next to the predictions)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.evaluation.analysis import (boundary_errors, format_boundary_table,
                                           false_positive_profile, format_fp_table,
                                           format_sensitivity_table, plot_fp_profile,
                                           plot_sensitivity, sensitivity_analysis)
    from tadet.evaluation.functional import (detection_map, format_map_table, load_predictions,
                                             write_json_atomic)
    from tadet.evaluation.metrics import save_per_class_plot
    if args.top_k < 1:
        raise ValueError(f'--top-k must be >= 1, got {args.top_k}')
    preds = load_predictions(args.predictions)
    gt, durations, classes = load_reference_from_args(args)
    if not set(preds) & set(gt):
        raise ValueError(f'{args.predictions}: none of its {len(preds)} videos is in the ground '
                         f'truth ({len(gt)} videos); wrong subset or annotation file?')
    known = sum(d is not None for d in durations.values())
    print(f'ground truth: {sum(len(v) for v in gt.values())} instances in {len(gt)} videos '
          f'(clipped to the duration of {known}/{len(durations)} videos)')
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.predictions))
    profile = false_positive_profile(gt, preds, args.tiou, top_k=args.top_k)
    sens = sensitivity_analysis(gt, preds, durations, args.tiou, classes=classes)
    result = detection_map(gt, preds, args.tiou_thresholds, classes=classes,
                           unknown_labels='ignore')
    files = [plot_fp_profile(profile, osp.join(out_dir, 'fp_profile.png')),
             plot_sensitivity(sens, osp.join(out_dir, 'sensitivity.png')),
             save_per_class_plot(result, out_dir)]
    bounds = boundary_errors(gt, preds, args.tiou, top_k=args.boundary_top)
    write_json_atomic(dict(fp_profile=profile, sensitivity=sens, detection=result,
                           boundary_errors=bounds),
                      osp.join(out_dir, 'diagnosis.json'), indent=1)
    print(format_map_table(result))
    print(format_fp_table(profile))
    print(format_sensitivity_table(sens))
    print(format_boundary_table(bounds))
    print('written: ' + ', '.join(files + [osp.join(out_dir, 'diagnosis.json')]))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
