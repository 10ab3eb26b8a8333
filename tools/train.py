"""Train a detector: ``python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp]
[--cfg-options k=v ...] [--launcher none|pytorch|slurm]``."""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Train a temporal action detector')
    p.add_argument('config', help='config file')
    p.add_argument('--work-dir', help='directory for logs and checkpoints '
                   '(default: work_dirs/CONFIG_NAME)')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the latest checkpoint in the work dir if no '
                   'CKPT is given')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. train_cfg.max_epochs=2')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.apis.runner import run
    run(args.config, 'train', work_dir=args.work_dir, cfg_options=args.cfg_options,
        launcher=args.launcher, amp=args.amp, resume=args.resume)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
