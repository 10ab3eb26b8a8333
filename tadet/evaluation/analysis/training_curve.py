"""Validation curves: a metric per epoch read from mmengine's scalar logs, averaged over seeds.

mmengine's ``LoggerHook`` writes one JSON object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``; the lines of a validation carry the metric
(``tad/average_mAP`` for :class:`TADMetric`) and ``step`` = the epoch (the iteration for
iteration-based loops: :func:`tadet.apis.runner.prepare_config` sets the logger hook's
``log_metric_by_epoch=False`` for them, else mmengine logs every validation at epoch 0). A
resumed run has several timestamp folders; they are read in order and a later value for the
same step replaces an earlier one.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

Curve = List[Tuple[int, float]]


def read_val_curve(work_dir: str, metric: str = 'tad/average_mAP') -> Curve:
    """``[(step, value), ...]`` (sorted by step) of ``metric`` in the scalar logs of one run.

    Raises ``FileNotFoundError`` when ``work_dir`` has no ``*/vis_data/scalars.json`` and
    ``ValueError`` when none of its lines has ``metric`` (naming the keys it does have).
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'{work_dir}: no */vis_data/scalars.json (not an mmengine '
                                'work dir, or the run has not logged yet)')
    points: Dict[int, float] = {}
    seen = set()
    for path in files:
        with open(path) as f:
            lines = f.read().split('\n')
        last = max((i for i, ln in enumerate(lines, 1) if ln.strip()), default=0)
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                # a run killed mid-write leaves a cut last line; anything else is corrupt
                if n == last:
                    continue
                raise ValueError(f'{path}:{n}: not JSON ({e})') from None
            seen.update(row)
            if metric in row:
                points[int(row['step'])] = float(row[metric])
    if not points:
        keys = sorted(k for k in seen if '/' in k) or sorted(seen)
        raise ValueError(f'{work_dir}: no validation with {metric!r} in its logs (keys: '
                         f'{keys}); set train_cfg.val_interval to validate during training')
    return sorted(points.items())


def mean_curve(curves: Sequence[Curve]) -> List[Tuple[int, float, float, int]]:
    """``[(step, mean, std, n), ...]`` over the runs (seeds) at each step any run logged;
    ``std`` is the population std (0 for one run), ``n`` the number of runs at that step."""
    by_step: Dict[int, List[float]] = {}
    for curve in curves:
        for step, value in curve:
            by_step.setdefault(step, []).append(value)
    return [(s, float(np.mean(v)), float(np.std(v)), len(v)) for s, v in sorted(by_step.items())]


def format_curve_table(groups: Dict[str, List[Tuple[int, float, float, int]]],
                       scale: float = 100.0, step_name: str = 'epoch') -> str:
    """Markdown table: one row per step, one column per group (``mean +- std`` x ``scale``)."""
    steps = sorted({s for rows in groups.values() for s, *_ in rows})
    lines = [f'| {step_name} | ' + ' | '.join(groups) + ' |',
             '|---:|' + '---:|' * len(groups)]
    for step in steps:
        cells = []
        for rows in groups.values():
            hit = [r for r in rows if r[0] == step]
            if not hit:
                cells.append('')
                continue
            _, m, sd, n = hit[0]
            cells.append(f'{scale * m:.2f} +- {scale * sd:.2f}' if n > 1 else f'{scale * m:.2f}')
        lines.append(f'| {step} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def draw_curves(ax, groups: Dict[str, List[Tuple[int, float, float, int]]],
                ylabel: str = 'average mAP (%)', scale: float = 100.0,
                step_name: str = 'epoch', title: str = '') -> None:
    """Draw the mean curve of each group with a +-std band on a matplotlib ``ax``."""
    for label, rows in groups.items():
        x = np.array([r[0] for r in rows])
        m = scale * np.array([r[1] for r in rows])
        sd = scale * np.array([r[2] for r in rows])
        n = max(r[3] for r in rows)
        ax.plot(x, m, marker='o', ms=3, label=f'{label} ({n} seed{"s" * (n > 1)})')
        ax.fill_between(x, m - sd, m + sd, alpha=0.2)
    # steps are whole epochs / iterations: no 1.5 ticks
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(step_name)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_curves(groups: Dict[str, List[Tuple[int, float, float, int]]], out_file: str,
                ylabel: str = 'average mAP (%)', scale: float = 100.0,
                step_name: str = 'epoch', title: str = '') -> str:
    """Mean curve per group with a +-std band; written atomically to ``out_file`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    draw_curves(ax, groups, ylabel, scale, step_name, title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp = f'{out_file}.tmp{os.getpid()}.png'
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, out_file)
    finally:
        plt.close(fig)
        if osp.exists(tmp):
            os.remove(tmp)
    return out_file
