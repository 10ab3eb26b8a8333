"""Benchmark detectors side by side: ``python tools/benchmark.py SPEC [--seeds 0 1 2]
[--work-dir D] [--methods NAME ...] [--jobs N] [--eval-only] [--cfg-options k=v ...]``.

SPEC lists the methods (name + config), the shared dataset and evaluator and schedule
overrides (see ``configs/benchmark/thumos14_synth.py`` and docs/benchmark.md). Every (method,
seed) run is trained and tested with the tools/train.py / tools/test.py machinery
(``--jobs N``: N runs at a time in worker processes) in ``WORK_DIR/<method>/seed_<seed>``; a
run whose ``result.json`` exists is finished and not redone, so running the same command
again resumes an interrupted benchmark.
``--eval-only`` tests the existing checkpoints instead of training. The report (tables,
``report.md``, ``report.json``, ``mAP_vs_tiou.png``, ``accuracy_vs_speed.png``,
``per_class_AP.png``; with the spec's ``validate = True`` the validation curves and
``val_curves.png``) is printed and written to the work dir.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Train and evaluate detectors side by side')
    p.add_argument('spec', help='benchmark spec (config listing the methods)')
    p.add_argument('--seeds', nargs='+', type=int, help='seeds (default: the spec\'s, or 0)')
    p.add_argument('--work-dir', help='output folder (default: the spec\'s work_dir)')
    p.add_argument('--methods', nargs='+', help='run only these methods of the spec')
    p.add_argument('--jobs', type=int,
                   help='train and test this many runs at a time in worker processes '
                        '(default: the spec\'s jobs, else 1); profiles still run one at a time')
    p.add_argument('--eval-only', action='store_true',
                   help='test existing checkpoints of the work dir, do not train')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides applied to every method config (highest priority)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.apis.benchmark import run_benchmark
    run_benchmark(args.spec, work_dir=args.work_dir, seeds=args.seeds,
                  cfg_options=args.cfg_options, eval_only=args.eval_only,
                  methods=args.methods, jobs=args.jobs)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
