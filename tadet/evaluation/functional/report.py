"""Text tables of evaluation results (percentages)."""
from typing import Dict, Sequence

from terminaltables import AsciiTable


def format_map_table(result: Dict, title: str = 'Detection mAP (%)') -> str:
    """One-row table: mAP per tIoU threshold and the average, in percent."""
    header = ['tIoU'] + [f'{t:.2f}' for t in result['tiou_thresholds']] + ['Average']
    row = ['mAP'] + [f'{100 * m:.2f}' for m in result['mAP']] + [
        f'{100 * result["average_mAP"]:.2f}']
    return AsciiTable([header, row], title=title).table


def format_ar_table(values: Dict[str, float], title: str = 'Proposals AR@AN (%)') -> str:
    """One-row table of ``{'AR@1': ..., 'AUC': ...}`` in percent."""
    return AsciiTable([list(values.keys()), [f'{100 * v:.2f}' for v in values.values()]],
                      title=title).table


def format_per_class_table(per_class: Dict[str, Sequence[float]],
                           thresholds: Sequence[float]) -> str:
    """Per-class AP table (percent), one row per class."""
    rows = [['class'] + [f'{t:.2f}' for t in thresholds] + ['Average']]
    for name, aps in per_class.items():
        rows.append([name] + [f'{100 * a:.2f}' for a in aps] +
                    [f'{100 * sum(aps) / max(len(aps), 1):.2f}'])
    return AsciiTable(rows, title='Per-class AP (%)').table
