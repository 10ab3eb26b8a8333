"""Benchmark plots: mAP vs tIoU, accuracy vs speed, per-class AP, validation curves."""
import os
import os.path as osp
from typing import List, Optional

import numpy as np

from .curves import CURVE_PLOT, curve_groups


def save_plots(summary: dict, out_dir: str) -> List[str]:
    """``mAP_vs_tiou.png``, ``accuracy_vs_speed.png``, ``per_class_AP.png`` (Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    methods = summary['methods']
    os.makedirs(out_dir, exist_ok=True)
    paths = []

    def save(fig, name):
        fig.tight_layout()
        path = osp.join(out_dir, name)
        fig.savefig(path, dpi=100)
        paths.append(path)

    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for m in methods:
        mean, std = 100 * np.asarray(m['mAP_mean']), 100 * np.asarray(m['mAP_std'])
        ax.errorbar(m['tiou_thresholds'], mean, yerr=std if len(m['seeds']) > 1 else None,
                    marker='o', capsize=3,
                    label=f'{m["name"]} (avg {100 * m["average_mAP_mean"]:.1f})')
    ax.set_xlabel('tIoU threshold')
    ax.set_ylabel('mAP (%)')
    ax.set_title(f'{summary["name"]}: mAP vs tIoU')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, 'mAP_vs_tiou.png')

    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for m in methods:
        ax.scatter([m['snippets_per_s']], [100 * m['average_mAP_mean']], s=60)
        ax.annotate(m['name'], (m['snippets_per_s'], 100 * m['average_mAP_mean']),
                    textcoords='offset points', xytext=(5, 5), fontsize=9)
    ax.set_xscale('log')
    ax.set_xlabel('inference speed (snippets/s, log scale)')
    ax.set_ylabel('average mAP (%)')
    ax.set_title(f'{summary["name"]}: accuracy vs speed')
    ax.grid(alpha=0.3, which='both')
    save(fig, 'accuracy_vs_speed.png')

    classes = list(methods[0]['per_class_AP']) if methods else []
    fig = Figure(figsize=(min(24.0, max(8.0, 0.12 * len(classes) * max(1, len(methods)) + 3)),
                          4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(classes))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        ax.bar(x + (i - (len(methods) - 1) / 2) * width,
               [100 * m['per_class_AP'].get(c, 0.0) for c in classes], width, label=m['name'])
    ax.set_xticks(x)
    ax.set_xticklabels(classes, rotation=60, ha='right', fontsize=7)
    ax.set_ylabel('AP (%), mean over tIoU and seeds')
    ax.set_title(f'{summary["name"]}: per-class AP')
    ax.legend(fontsize=7, ncol=min(3, max(1, len(methods))))
    save(fig, 'per_class_AP.png')
    return paths


def save_val_curves(summary: dict, out_dir: str) -> Optional[str]:
    """``val_curves.png``: average mAP (%) per validation, one line per method with a +-std
    band over seeds; one panel per step unit (epoch / iteration). None without curves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tadet.evaluation.analysis import draw_curves
    groups = curve_groups(summary)
    if not groups:
        return None
    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(6.4 * len(groups), 4.0))
    FigureCanvasAgg(fig)
    for i, (unit, rows) in enumerate(groups.items()):
        title = f'{summary["name"]}: validation' + (f' ({unit}-based)' if len(groups) > 1 else '')
        draw_curves(fig.add_subplot(1, len(groups), i + 1), rows, step_name=unit, title=title)
    fig.tight_layout()
    path = osp.join(out_dir, CURVE_PLOT)
    fig.savefig(path, dpi=100)
    return path
