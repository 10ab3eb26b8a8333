"""Benchmark validation curves (the SPEC's ``validate``): each run's average mAP at each
validation during training, read from its mmengine scalar logs
(:func:`tadet.evaluation.analysis.read_val_curve`), mean +- std over seeds per method, and the
report's "Validation curves" section (``val_curves.png`` is drawn in :mod:`.plots`).

Epoch-based and iteration-based methods log their validations at epochs and iterations: they
get separate tables and separate panels of the plot, never one shared x axis.
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from .spec import run_dir

STEP_NAMES = ('epoch', 'iteration')
CURVE_PLOT = 'val_curves.png'
# rows of a method's mean curve: (step, mean, std, number of seeds that logged the step)
CurveRows = List[tuple]


def val_metric(cfg: Config) -> str:
    """Scalar key of the average mAP that ``cfg``'s val evaluator (TADMetric) logs."""
    ev = cfg.get('val_evaluator')
    prefix = ev.get('prefix', 'tad') if isinstance(ev, dict) else 'tad'
    return f'{prefix}/average_mAP' if prefix else 'average_mAP'


def attach_val_curves(results: Sequence[dict], spec: Config, cfgs: Dict[str, Config],
                      log: Callable[[str], None] = print) -> List[dict]:
    """Copies of the run ``results`` with ``val_curve`` (``[[step, average mAP], ...]`` of the
    run's validations, None when the SPEC's ``validate`` is off or the run's logs hold none)
    and ``val_step`` (``'epoch'`` / ``'iteration'``, None when ``validate`` is off).

    ``cfgs``: ``{method: final config}`` (:func:`check_protocol`), for the loop type and metric.
    The curves come from the run dirs' logs, so ``--eval-only`` gets them too.
    """
    from tadet.evaluation.analysis import read_val_curve

    from ..runner import is_iter_based
    out = []
    for r in results:
        curve = step = None
        if spec.get('validate', False):
            cfg = cfgs[r['method']]
            step = 'iteration' if is_iter_based(cfg) else 'epoch'
            work = run_dir(spec.work_dir, r['method'], r['seed'])
            try:
                curve = [[int(s), float(v)] for s, v in read_val_curve(work, val_metric(cfg))]
            except (FileNotFoundError, ValueError) as e:  # no validation logged: no curve
                log(f'{r["method"]} seed {r["seed"]}: no validation curve ({e})')
        out.append(dict(r, val_curve=curve, val_step=step))
    return out


def mean_val_curve(runs: Sequence[dict]) -> Optional[list]:
    """``[[step, mean, std, n], ...]`` over the runs (seeds) of one method that have a curve
    (population std; ``n`` runs logged that step), None if none has."""
    from tadet.evaluation.analysis import mean_curve
    curves = [r['val_curve'] for r in runs if r.get('val_curve')]
    return [list(row) for row in mean_curve(curves)] if curves else None


def curve_groups(summary: dict) -> Dict[str, Dict[str, CurveRows]]:
    """``{step name: {method: rows}}`` of the methods with a curve, epochs first."""
    groups: Dict[str, Dict[str, CurveRows]] = {}
    for unit in STEP_NAMES:
        rows = {m['name']: [tuple(r) for r in m['val_curve']] for m in summary['methods']
                if m.get('val_curve') and m.get('val_step') == unit}
        if rows:
            groups[unit] = rows
    return groups


def without_curves(summary: dict) -> List[str]:
    """Methods without a curve although the benchmark validated."""
    if not summary.get('validate'):
        return []
    return [m['name'] for m in summary['methods'] if not m.get('val_curve')]


def format_curves_markdown(summary: dict, plot: Optional[str] = CURVE_PLOT) -> str:
    """The report's "## Validation curves" section ('' when no method validated): one table
    (step x method, average mAP in %, mean +- std over seeds) per step unit, the plot, and a
    line naming the methods without validations in their logs."""
    from tadet.evaluation.analysis import format_curve_table
    groups, missing = curve_groups(summary), without_curves(summary)
    if not groups and not missing:
        return ''
    parts = ['## Validation curves',
             'Average mAP (%) at each validation during training (the spec\'s `validate`), '
             'mean +- std over seeds (a value without +- comes from one seed), on the shared '
             'val data: for THUMOS14 the test videos, as it has no separate validation split.']
    for unit, rows in groups.items():
        if len(groups) > 1:
            parts.append(f'### {unit.capitalize()}-based training loops')
        parts.append(format_curve_table(rows, step_name=unit))
    if groups and plot:
        parts.append(f'![validation curves]({osp.basename(plot)})')
    if missing:
        parts.append(f'No validation in the logs of: {", ".join(missing)} (trained without '
                     'validation, e.g. before `validate` was set, or the logs are gone).')
    return '\n\n'.join(parts) + '\n'
