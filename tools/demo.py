"""The main job on the bundled default data (``make demo``).

Generates the synthetic THUMOS14 features if needed, then trains and evaluates every detector
config named ``configs/<method>/<method>_thumos14_synth.py`` with tools/train.py machinery
(mmengine Runner) and prints one comparison table. Options: ``--methods a2net ...`` to pick,
``--work-dir``, ``--cfg-options`` (applied to every run).
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def find_configs(methods: Optional[List[str]]) -> List[str]:
    found = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*_thumos14_synth.py')))
    found = [c for c in found if osp.basename(osp.dirname(c)) not in ('benchmark', '_base_')]
    main = [c for c in found
            if osp.basename(c) == f'{osp.basename(osp.dirname(c))}_thumos14_synth.py']
    if methods:
        main = [c for c in main if osp.basename(osp.dirname(c)) in methods]
    return main


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', help='method folders under configs/ (default: all)')
    p.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)

    from mmengine.runner import Runner
    from terminaltables import AsciiTable

    from tadet.apis.runner import prepare_config
    from tadet.datasets.synthetic import make_synthetic_dataset, resolve_preset

    configs = find_configs(args.methods)
    if not configs:
        print('No detector config configs/<method>/<method>_thumos14_synth.py found yet: '
              'only the synthetic data was generated.')
    t0 = time.time()
    make_synthetic_dataset(**resolve_preset('thumos14_synth'))
    print(f'synthetic thumos14 features ready ({time.time() - t0:.1f} s)')
    rows = []
    for cfg_path in configs:
        name = osp.splitext(osp.basename(cfg_path))[0]
        work_dir = osp.join(args.work_dir, name)
        cfg = prepare_config(cfg_path, work_dir=work_dir, cfg_options=args.cfg_options)
        start = time.time()
        runner = Runner.from_cfg(cfg)
        runner.train()
        train_time = time.time() - start
        metrics = runner.test()
        thr = [k for k in metrics if k.startswith('tad/mAP@') or k.startswith('mAP@')]
        rows.append([name] + [f'{100 * metrics[k]:.2f}' for k in thr] +
                    [f'{100 * metrics.get("tad/average_mAP", metrics.get("average_mAP", 0)):.2f}',
                     f'{train_time:.0f}'])
        header = ['config'] + [k.split('@')[-1] for k in thr] + ['avg', 'train s']
        with open(osp.join(work_dir, 'demo_metrics.json'), 'w') as f:
            json.dump(metrics, f, indent=1)
    if rows:
        print(AsciiTable([header] + rows, title=' thumos14_synth mAP (%) ').table)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
