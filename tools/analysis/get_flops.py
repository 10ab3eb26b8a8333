"""Parameters and FLOPs of a tadet detector's tensor-mode forward (``model._forward``).

``python tools/analysis/get_flops.py CONFIG [--length 128] [--in-channels C] [--batch 1]
[--per-video] [--cfg-options k=v ...]``

FLOPs are counted by ``mmengine.analysis`` (fvcore-style: one fused multiply-add = 1 FLOP) on
one ``[batch, C, length]`` input; ``C`` defaults to the config's ``feat_dim`` (or the model's
``in_channels``). ``--per-video`` counts instead over the test windows the detector cuts from a
video of ``length`` snippets. Works for any detector implementing ``_forward(inputs, masks)``.
The counting lives in :mod:`tadet.apis.profiling` (shared with tools/benchmark_models.py).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402
from tadet.apis.profiling import count_flops  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Count parameters and FLOPs of a detector')
    p.add_argument('config')
    p.add_argument('--length', type=int, default=128, help='input snippets (default 128)')
    p.add_argument('--in-channels', type=int, help='input feature channels (default: feat_dim)')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--per-video', action='store_true',
                   help='count over the test windows of one video of --length snippets')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--per-module', action='store_true', help='print the per-module table')
    return p.parse_args(argv)


def count(cfg, length: int, in_channels: Optional[int] = None, batch: int = 1) -> dict:
    """dict(flops, params, flops_str, params_str, table, in_channels) for ``cfg.model`` on one
    ``[batch, C, length]`` input (see :func:`tadet.apis.profiling.count_flops`)."""
    return count_flops(cfg, length, in_channels, batch)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    res = count_flops(args.config, args.length, args.in_channels, args.batch,
                      per_video=args.per_video, cfg_options=args.cfg_options)
    if args.per_module:
        print(res['table'])
    print(f'Config: {args.config}')
    print(f'Input: {res["input_shape"]}')
    print(f'Params: {res["params"] / 1e6:.2f} M ({res["params"]})')
    print(f'FLOPs: {res["flops"] / 1e9:.3f} G ({res["flops"]}) '
          f'(multiply-adds, mmengine/fvcore counting)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
