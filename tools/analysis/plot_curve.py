"""Validation curves of training runs: a metric per epoch, mean +- std over seeds.

``python tools/analysis/plot_curve.py LABEL=WORK_DIR[,WORK_DIR...] [LABEL=...] [--metric
tad/average_mAP] [--out curve.png] [--step-name epoch]``

Each ``LABEL=...`` is one curve; its comma-separated work dirs are the seeds of one recipe
(e.g. a benchmark's ``METHOD/seed_0,METHOD/seed_1``). The runs must have validated during
training (``train_cfg.val_interval``). Prints a Markdown table (step x label, values in %) and
writes the plot (default ``curve.png`` in the current folder).
"""
import argparse
import sys
import os.path as osp
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tadet.apis.cli import run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Validation metric per epoch, mean +- std over '
                                'the seeds of each recipe')
    p.add_argument('runs', nargs='+', metavar='LABEL=DIR[,DIR...]',
                   help='one curve: a label and the work dirs of its seeds')
    p.add_argument('--metric', default='tad/average_mAP',
                   help='scalar key of the validation metric (default tad/average_mAP)')
    p.add_argument('--out', default='curve.png', help='PNG file (default curve.png)')
    p.add_argument('--step-name', default='epoch', help='x-axis name (default epoch)')
    p.add_argument('--title', default='', help='plot title')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.evaluation.analysis import (format_curve_table, mean_curve, plot_curves,
                                           read_val_curve)
    groups = {}
    for spec in args.runs:
        label, sep, dirs = spec.partition('=')
        if not sep or not label or not dirs:
            raise ValueError(f'{spec!r}: expected LABEL=WORK_DIR[,WORK_DIR...]')
        if label in groups:
            raise ValueError(f'label {label!r} given twice')
        groups[label] = mean_curve([read_val_curve(d, args.metric) for d in dirs.split(',')])
    print(format_curve_table(groups, step_name=args.step_name))
    print('written: ' + plot_curves(groups, args.out, step_name=args.step_name,
                                    title=args.title))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
