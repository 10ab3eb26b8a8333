"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out PRED_JSON]
[--work-dir D] [--cfg-options k=v ...] [--launcher ...]``.

Prints the metric table; ``--out`` writes the detections in ActivityNet result format
(seconds, class names).
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Evaluate a trained temporal action detector')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--out', help='write predictions (ActivityNet result JSON) here')
    p.add_argument('--work-dir', help='directory for logs (default: work_dirs/CONFIG_NAME)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. test_dataloader.batch_size=1')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.apis.runner import run
    run(args.config, 'test', work_dir=args.work_dir, cfg_options=args.cfg_options,
        launcher=args.launcher, checkpoint=args.checkpoint,
        pred_out=args.out)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
