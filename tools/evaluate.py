"""Evaluate an ActivityNet-format prediction file (no model needed).

    python tools/evaluate.py PRED_JSON --ann ANN_JSON --subset SUBSET [--classes CLASS_MAP]
        [--video-info CSV ...] [--tiou-thresholds T ...] [--out RESULT_JSON]
        [--unknown-labels error|ignore] [--per-class]

Prints a table of mAP per tIoU threshold and the average (percent). The default thresholds follow
the annotation file's dataset (:func:`default_tiou_thresholds`): ActivityNet 0.5:0.05:0.95,
THUMOS14 (and anything else) 0.3:0.1:0.7.

Ground truth follows one rule, the same in ``tools/test.py`` (TADMetric),
``tools/analysis/diagnose_detections.py`` and here: the annotation file's segments, clipped to
``[0, duration]`` where the video's duration is known (the file's ``duration``, or
``--video-info`` CSVs such as THUMOS14's ``test_video_info.csv``) and dropped when wholly
outside; without a duration they are kept as given. THUMOS14 test: 3311 instances without
``--video-info``, 3307 with it (4 segments lie past their video's end), as with the configs. With ``--out`` writes
``{"tiou_thresholds", "mAP", "average_mAP", "per_class_AP", ...}`` (fractions). Bad input gives one
message on stderr and exit code 2, and no output file.
"""
import argparse
import json
import os.path as osp
import sys
import warnings
from typing import List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tadet.datasets.annotations import AnnotationError, load_class_map  # noqa: E402
from tadet.evaluation.analysis.reference import load_reference  # noqa: E402
from tadet.evaluation.functional import (ACTIVITYNET_TIOU_THRESHOLDS,  # noqa: E402
                                         THUMOS14_TIOU_THRESHOLDS, PredictionFormatError,
                                         detection_map, load_predictions, write_json_atomic)
from tadet.evaluation.functional.report import (format_map_table,  # noqa: E402
                                                format_per_class_table)

EXIT_BAD_INPUT = 2


def default_tiou_thresholds(ann_file: str) -> Tuple[List[float], str]:
    """``(thresholds, why)``: ActivityNet's 0.5:0.05:0.95 for an ActivityNet annotation file
    (its ``version`` says ActivityNet / 1.3, its name says activitynet / anet, or it has 100+
    classes or ``training`` / ``testing`` subsets), THUMOS14's 0.3:0.1:0.7 otherwise."""
    anet, thumos = list(ACTIVITYNET_TIOU_THRESHOLDS), list(THUMOS14_TIOU_THRESHOLDS)
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return thumos, 'THUMOS14 default'  # the loader reports the problem itself
    version = str(data.get('version', '')) if isinstance(data, dict) else ''
    if 'activitynet' in version.lower() or '1.3' in version:
        return anet, f'ActivityNet: the file\'s version is {version!r}'
    name = osp.basename(ann_file).lower()
    if 'thumos' in name:
        return thumos, 'THUMOS14: the file name says thumos'
    if 'activitynet' in name or 'activity_net' in name or 'anet' in name:
        return anet, 'ActivityNet: the file name says ActivityNet'
    database = data.get('database') if isinstance(data, dict) else None
    if isinstance(database, dict):
        infos = [v for v in database.values() if isinstance(v, dict)]
        labels = {a.get('label') for v in infos for a in (v.get('annotations') or [])
                  if isinstance(a, dict)}
        subsets = {v.get('subset') for v in infos}
        if len(labels) >= 100:
            return anet, f'ActivityNet: the file has {len(labels)} classes'
        if subsets & {'training', 'testing'}:
            return anet, 'ActivityNet: the file has training/testing subsets'
    return thumos, 'THUMOS14 (no ActivityNet marker in the file)'


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='tools/evaluate.py',
        description='ActivityNet-style detection mAP of a prediction JSON file.')
    p.add_argument('pred', metavar='PRED_JSON',
                   help='ActivityNet result JSON {"version", "results", "external_data"}')
    p.add_argument('--ann', required=True, help='ActivityNet-format annotation JSON')
    p.add_argument('--subset', required=True, help='subset to evaluate on (e.g. test)')
    p.add_argument('--classes', default=None,
                   help='class map (text, one name per line, or JSON list); default: the '
                   'sorted labels of the annotation file')
    p.add_argument('--video-info', nargs='+', default=None,
                   help='CSV(s) with video durations (THUMOS14 *_video_info.csv): ground truth '
                   'is clipped to [0, duration] and dropped when wholly outside, as with the '
                   'configs (default: only durations in the annotation file)')
    p.add_argument('--tiou-thresholds', type=float, nargs='+', default=None,
                   help='tIoU thresholds (default: by the annotation file\'s dataset: '
                   'ActivityNet 0.5 0.55 ... 0.95; THUMOS14 and anything else '
                   '0.3 0.4 0.5 0.6 0.7)')
    p.add_argument('--out', default=None, help='write the result JSON here')
    p.add_argument('--unknown-labels', choices=('error', 'ignore'), default='error',
                   help='predictions whose label the ground truth does not know: fail (default)'
                   ' or drop them with a warning')
    p.add_argument('--per-class', action='store_true', help='also print per-class AP')
    return p


def _fail(message: str) -> int:
    print(f'evaluate.py: error: {message}', file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse already printed the usage message
        return int(e.code or 0)
    try:
        if args.tiou_thresholds is None:
            args.tiou_thresholds, why = default_tiou_thresholds(args.ann)
            print(f'tIoU thresholds {", ".join(f"{t:g}" for t in args.tiou_thresholds)} '
                  f'({why}; --tiou-thresholds to choose others)')
        for t in args.tiou_thresholds:
            if not 0 <= t <= 1:
                raise ValueError(f'tIoU thresholds must lie in [0, 1], got {t}')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            classes = load_class_map(args.classes)
            ground_truth, durations, names = load_reference(ann_file=args.ann, subset=args.subset,
                                                    video_info=args.video_info,
                                                    classes=classes)
            classes = classes if classes is None else names
            predictions = load_predictions(args.pred)
            result = detection_map(ground_truth, predictions, args.tiou_thresholds,
                                   classes=classes, unknown_labels=args.unknown_labels)
    except (PredictionFormatError, AnnotationError, FileNotFoundError, ValueError,
            OSError) as e:
        return _fail(str(e))
    for w in caught:
        print(f'evaluate.py: warning: {w.message}', file=sys.stderr)

    known = sum(d is not None for d in durations.values())
    print(f'{args.pred}: {result["num_predictions"]} predictions, {len(ground_truth)} videos, '
          f'{result["num_ground_truth"]} ground truth instances ({args.subset}; clipped to the '
          f'duration of {known}/{len(durations)} videos, see --video-info)')
    if args.per_class:
        print(format_per_class_table(result['per_class_AP'], result['tiou_thresholds']))
    print(format_map_table(result))
    if args.out:
        try:
            write_json_atomic(result, args.out, indent=1)
        except OSError as e:
            return _fail(f'cannot write {args.out}: {e}')
        print(f'result written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
