"""Model cost side by side: params, FLOPs, inference time, snippets/s and peak memory.

``python tools/benchmark_models.py CONFIG [CONFIG ...] [--lengths 100 256] [--repeat 5]
[--warmup 2] [--device cpu] [--threads N] [--checkpoints CKPT ...] [--no-isolate]
[--out result.json] [--cfg-options k=v ...]``

Per config and video length: parameters; FLOPs of the tensor-mode forward over the windows the
detector runs on that video; the median time of ``model.test_step`` on one video of that length
(data preprocessor, sliding windows, network and the shared post-processing with NMS) after
warm-up calls; snippets/s; peak memory of one call above what was resident before it (CPU: peak
RSS increase in a fresh child process per measurement; CUDA: ``torch.cuda.max_memory_allocated``).
Ratios are against the first config (the baseline) measured in the same run. Definitions:
:mod:`tadet.apis.profiling`.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Compare the inference cost of detectors')
    p.add_argument('configs', nargs='+', help='config files; the first is the baseline')
    p.add_argument('--lengths', nargs='+', type=int, default=[100, 256],
                   help='video lengths in snippets (default: 100 256)')
    p.add_argument('--repeat', type=int, default=5, help='timed calls (median; default 5)')
    p.add_argument('--warmup', type=int, default=2, help='untimed calls first (default 2)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='torch threads (default: torch default)')
    p.add_argument('--checkpoints', nargs='+',
                   help='one checkpoint per config (default: random initialisation)')
    p.add_argument('--no-flops', action='store_true', help='skip FLOPs counting')
    p.add_argument('--no-isolate', action='store_true',
                   help='measure in this process instead of one child process per measurement')
    p.add_argument('--out', help='write the measurements here (JSON)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides applied to every config')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.apis.profiling import format_profile_table, profile
    from tadet.evaluation.functional import write_json_atomic
    for c in args.configs:
        if not osp.isfile(c):
            raise FileNotFoundError(f'config file not found: {c}')
    ckpts = args.checkpoints or [None] * len(args.configs)
    if len(ckpts) != len(args.configs):
        raise ValueError(f'--checkpoints: {len(ckpts)} given for {len(args.configs)} configs')
    if any(n < 1 for n in args.lengths):
        raise ValueError(f'--lengths must be positive, got {args.lengths}')
    results = []
    total = len(args.configs) * len(args.lengths)
    for cfg, ckpt in zip(args.configs, ckpts):
        for length in args.lengths:
            print(f'[{len(results) + 1}/{total}] {cfg} length {length}', flush=True)
            r = profile(cfg, length, isolate=not args.no_isolate, repeat=args.repeat,
                        warmup=args.warmup, device=args.device, checkpoint=ckpt,
                        cfg_options=args.cfg_options, flops=not args.no_flops,
                        threads=args.threads)
            r['config'] = cfg
            results.append(r)
    print(format_profile_table(results))
    r0 = results[0]
    print(f'device {r0["device"]}, {r0["threads"]} threads, median of {args.repeat} calls after '
          f'{args.warmup} warm-up; peak memory of one call after warm-up: {r0["mem_method"]}; '
          f'ratios vs {args.configs[0]}')
    if args.out:
        write_json_atomic(dict(results=results, args=vars(args)), args.out, indent=1)
        print(f'written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
