"""Evaluate an ActivityNet-format prediction file (no model needed).

    python tools/evaluate.py PRED_JSON --ann ANN_JSON --subset SUBSET [--classes CLASS_MAP]
        [--tiou-thresholds 0.3 0.4 0.5 0.6 0.7] [--out RESULT_JSON]
        [--unknown-labels error|ignore] [--per-class]

Prints a table of mAP per tIoU threshold and the average (percent). With ``--out`` writes
``{"tiou_thresholds", "mAP", "average_mAP", "per_class_AP", ...}`` (fractions). Bad input gives one
message on stderr and exit code 2, and no output file.
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tadet.datasets.annotations import AnnotationError, load_class_map  # noqa: E402
from tadet.evaluation.functional import (THUMOS14_TIOU_THRESHOLDS, PredictionFormatError,  # noqa
                                         detection_map, load_ground_truth, load_predictions,
                                         write_json_atomic)
from tadet.evaluation.functional.report import (format_map_table,  # noqa: E402
                                                format_per_class_table)

EXIT_BAD_INPUT = 2


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
    p.add_argument('--tiou-thresholds', type=float, nargs='+',
                   default=list(THUMOS14_TIOU_THRESHOLDS),
                   help='tIoU thresholds (THUMOS14: 0.3 0.4 0.5 0.6 0.7; ActivityNet: '
                   '0.5 0.55 ... 0.95)')
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
        for t in args.tiou_thresholds:
            if not 0 <= t <= 1:
                raise ValueError(f'tIoU thresholds must lie in [0, 1], got {t}')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            classes = load_class_map(args.classes)
            ground_truth = load_ground_truth(args.ann, args.subset, classes)
            predictions = load_predictions(args.pred)
            result = detection_map(ground_truth, predictions, args.tiou_thresholds,
                                   classes=classes, unknown_labels=args.unknown_labels)
    except (PredictionFormatError, AnnotationError, FileNotFoundError, ValueError,
            OSError) as e:
        return _fail(str(e))
    for w in caught:
        print(f'evaluate.py: warning: {w.message}', file=sys.stderr)

    print(f'{args.pred}: {result["num_predictions"]} predictions, {len(ground_truth)} videos, '
          f'{result["num_ground_truth"]} ground truth instances ({args.subset})')
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
