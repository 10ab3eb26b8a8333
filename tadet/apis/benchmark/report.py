"""Benchmark report: per-method summary over seeds, printed tables, ``report.md`` and
``report.json`` (the plots are :mod:`.plots`, the validation curves :mod:`.curves`)."""
import os
import os.path as osp
import statistics
from typing import Sequence

import numpy as np
from mmengine.config import Config

from .curves import curve_groups, format_curves_markdown, mean_val_curve
from .plots import save_plots, save_val_curves


def _mean_std(values: Sequence[float]) -> tuple:
    values = [float(v) for v in values]
    return (statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0)


def summarize(results: Sequence[dict], spec: Config) -> dict:
    """Aggregate the runs per method (mean +- std over seeds) in SPEC order; ``val_curve`` of a
    method: ``[[step, mean, std, n], ...]`` over its runs' ``val_curve`` (see
    :func:`attach_val_curves`), None without; ``val_step``: ``'epoch'`` / ``'iteration'``."""
    methods = []
    for m in spec.methods:
        runs = [r for r in results if r['method'] == m['name']]
        if not runs:
            continue
        thr = runs[0]['tiou_thresholds']
        maps = np.asarray([r['mAP'] for r in runs], dtype=np.float64)  # [S, K]
        classes = list(runs[0]['per_class_AP'])
        per_class = {c: float(np.mean([np.mean(r['per_class_AP'][c]) for r in runs]))
                     for c in classes}
        avg = _mean_std([r['average_mAP'] for r in runs])
        trains = [r['train_time_s'] for r in runs if r['train_time_s'] is not None]
        cpus = [r['train_cpu_s'] for r in runs if r.get('train_cpu_s') is not None]
        cost = runs[0]['profile']
        methods.append(dict(
            name=m['name'], config=m['config'], seeds=[r['seed'] for r in runs],
            tiou_thresholds=thr, mAP_mean=maps.mean(0).tolist(),
            mAP_std=(maps.std(0) if len(runs) > 1 else np.zeros(len(thr))).tolist(),
            average_mAP_mean=avg[0], average_mAP_std=avg[1], per_class_AP=per_class,
            params=cost['params'], flops=cost['flops'],
            train_time_s=statistics.fmean(trains) if trains else None,
            train_cpu_s=statistics.fmean(cpus) if cpus else None,
            train_parallel_runs=max(r.get('train_parallel_runs') or 1 for r in runs),
            profile_length=cost['length'],
            snippets_per_s=statistics.fmean(r['profile']['snippets_per_s'] for r in runs),
            videos_per_s=statistics.fmean(r['profile']['videos_per_s'] for r in runs),
            peak_mem_mb=max(r['profile']['peak_mem_mb'] for r in runs),
            mem_method=cost['mem_method'], device=cost['device'], threads=cost['threads'],
            val_step=runs[0].get('val_step'), val_curve=mean_val_curve(runs)))
    return dict(name=spec.name, work_dir=spec.work_dir, seeds=list(spec.seeds),
                validate=bool(spec.get('validate', False)), methods=methods,
                runs=list(results))


def _pm(mean: float, std: float, n: int, scale: float = 100.0) -> str:
    return f'{scale * mean:.2f}' if n < 2 else f'{scale * mean:.2f} +- {scale * std:.2f}'


def report_rows(summary: dict) -> tuple:
    """(accuracy rows, cost rows), each with its header row first."""
    from ..profiling import _fmt_count
    methods = summary['methods']
    thr = methods[0]['tiou_thresholds'] if methods else []
    acc = [['method'] + [f'mAP@{t:.2f}' for t in thr] + ['average mAP', 'seeds']]
    cost = [['method', 'params', 'FLOPs', 'train time (s)', 'train CPU (s)', 'snippets/s',
             'videos/s', 'peak mem (MB)']]
    for m in methods:
        n = len(m['seeds'])
        acc.append([m['name']] + [_pm(a, s, n) for a, s in zip(m['mAP_mean'], m['mAP_std'])] +
                   [_pm(m['average_mAP_mean'], m['average_mAP_std'], n),
                    ' '.join(str(s) for s in m['seeds'])])
        cost.append([m['name'], _fmt_count(m['params']), _fmt_count(m['flops']),
                     'n/a' if m['train_time_s'] is None else f'{m["train_time_s"]:.0f}',
                     'n/a' if m.get('train_cpu_s') is None else f'{m["train_cpu_s"]:.0f}',
                     f'{m["snippets_per_s"]:.0f}', f'{m["videos_per_s"]:.2f}',
                     f'{m["peak_mem_mb"]:.1f}'])
    return acc, cost


def format_report(summary: dict) -> str:
    """The printed report: an accuracy and a cost table (terminaltables), one row per method,
    and the validation curve tables if the benchmark validated."""
    from terminaltables import AsciiTable
    acc, cost = report_rows(summary)
    tables = []
    for rows, title in ((acc, f' {summary["name"]}: mAP (%) '),
                        (cost, f' {summary["name"]}: cost ')):
        t = AsciiTable(rows, title=title)
        for j in range(1, len(rows[0])):
            t.justify_columns[j] = 'right'
        tables.append(t.table)
    curves = format_curves_markdown(summary, plot=None)
    return '\n'.join(tables) + '\n' + _cost_note(summary) + (f'\n\n{curves}' if curves else '')


def _cost_note(summary: dict) -> str:
    if not summary['methods']:
        return ''
    m = summary['methods'][0]
    return (f'FLOPs and speed per test video of {m["profile_length"]} snippets '
            f'(median length of the test set unless set), {m["device"]}, {m["threads"]} '
            f'thread(s); speed = median time of model.test_step incl. post-processing; '
            f'peak mem = extra memory of one call ({m["mem_method"]}); train CPU = CPU seconds '
            f'of the training run and its data loader workers; mAP mean +- std over seeds.'
            + _parallel_note(summary))


def _parallel_note(summary: dict) -> str:
    n = max(m.get('train_parallel_runs', 1) for m in summary['methods'])
    return (f' Runs were trained and tested up to {n} at a time (jobs={n}): train time is '
            f'wall time shared with the other runs; speed and memory were profiled one run '
            f'at a time.' if n > 1 else '')


def format_markdown(summary: dict) -> str:
    acc, cost = report_rows(summary)

    def md(rows):
        lines = ['| ' + ' | '.join(rows[0]) + ' |',
                 '|' + '|'.join(['---'] + ['---:'] * (len(rows[0]) - 1)) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows[1:]]
        return '\n'.join(lines)
    curves = format_curves_markdown(summary)
    return (f'# Benchmark {summary["name"]}\n\n## mAP (%)\n\n{md(acc)}\n\n## Cost\n\n'
            f'{md(cost)}\n\n{_cost_note(summary)}\n\n'
            f'![mAP vs tIoU](mAP_vs_tiou.png)\n![accuracy vs speed](accuracy_vs_speed.png)\n'
            f'![per-class AP](per_class_AP.png)\n' + (f'\n{curves}' if curves else ''))


def write_report(summary: dict, out_dir: str) -> dict:
    """``report.json``, ``report.md`` and the plots in ``out_dir``; returns their paths."""
    from tadet.evaluation.functional import write_json_atomic
    write_json_atomic(summary, osp.join(out_dir, 'report.json'), indent=1)
    md_path = osp.join(out_dir, 'report.md')
    tmp = md_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(format_markdown(summary))
    os.replace(tmp, md_path)
    plots = save_plots(summary, out_dir) if summary['methods'] else []
    if curve_groups(summary):
        plots.append(save_val_curves(summary, out_dir))
    return dict(json=osp.join(out_dir, 'report.json'), markdown=md_path, plots=plots)
