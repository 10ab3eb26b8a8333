"""Parameters and FLOPs of a tadet detector's tensor-mode forward (``model._forward``).

``python tools/analysis/get_flops.py CONFIG [--length 128] [--in-channels C] [--batch 1]
[--cfg-options k=v ...]``

FLOPs are counted by ``mmengine.analysis`` (fvcore-style: one fused multiply-add = 1 FLOP) on
one ``[batch, C, length]`` input; ``C`` defaults to the config's ``feat_dim`` (or the model's
``in_channels``). Works for any detector implementing ``_forward(inputs, masks)``.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


class _TensorMode(nn.Module):
    """Wraps a detector so that ``forward(x)`` is its ``_forward(x, all-true mask)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        masks = torch.ones((x.shape[0], x.shape[-1]), dtype=torch.bool, device=x.device)
        return self.model._forward(x, masks)


def _in_channels(cfg) -> int:
    if cfg.get('feat_dim') is not None:
        return int(cfg.feat_dim)

    def find(d):
        if isinstance(d, dict):
            if 'in_channels' in d and isinstance(d['in_channels'], int):
                return d['in_channels']
            for v in d.values():
                r = find(v)
                if r is not None:
                    return r
        return None
    found = find(cfg.model)
    if found is None:
        raise ValueError('cannot infer the input channels; pass --in-channels')
    return int(found)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from tadet.apis.cli import DictAction
    p = argparse.ArgumentParser(description='Count parameters and FLOPs of a detector')
    p.add_argument('config')
    p.add_argument('--length', type=int, default=128, help='input snippets (default 128)')
    p.add_argument('--in-channels', type=int, help='input feature channels (default: feat_dim)')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--per-module', action='store_true', help='print the per-module table')
    return p.parse_args(argv)


def count(cfg, length: int, in_channels: Optional[int] = None, batch: int = 1) -> dict:
    """dict(flops, params, flops_str, params_str, table) for ``cfg.model``."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import init_default_scope

    import tadet.models  # noqa: F401
    from tadet.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'tadet'))
    c = in_channels or _in_channels(cfg)
    model = MODELS.build(cfg.model).eval()
    if type(model)._forward is getattr(MODELS.get('BaseTADDetector'), '_forward', None):
        raise NotImplementedError(f'{type(model).__name__} has no _forward (tensor mode)')
    with torch.no_grad():
        info = get_model_complexity_info(_TensorMode(model), inputs=(torch.zeros(batch, c,
                                                                                 length),),
                                         show_table=True, show_arch=False)
    return dict(flops=info['flops'], params=info['params'], flops_str=info['flops_str'],
                params_str=info['params_str'], table=info['out_table'], in_channels=c)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    res = count(cfg, args.length, args.in_channels, args.batch)
    if args.per_module:
        print(res['table'])
    print(f'Config: {args.config}')
    print(f'Input: [{args.batch}, {res["in_channels"]}, {args.length}]')
    print(f'Params: {res["params"] / 1e6:.2f} M ({res["params"]})')
    print(f'FLOPs: {res["flops"] / 1e9:.3f} G ({res["flops"]}) '
          f'(multiply-adds, mmengine/fvcore counting)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
