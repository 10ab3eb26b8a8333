"""Validation curves from mmengine scalar logs: reading (resumed runs, a cut last line, bad
logs), the mean over seeds, the table and the plot_curve.py tool."""
import json
import os
import os.path as osp
import sys

import pytest

from tadet.evaluation.analysis import (format_curve_table, mean_curve, plot_curves,
                                       read_val_curve)
from tadet_testing import REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import plot_curve  # noqa: E402


def write_log(work_dir, stamp, rows, tail=''):
    d = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(d, exist_ok=True)
    with open(osp.join(d, 'scalars.json'), 'w') as f:
        for r in rows:
            f.write(json.dumps(r) + '\n')
        f.write(tail)


def train_row(step):
    return {'lr': 1e-3, 'loss': 1.0 / step, 'epoch': 1, 'iter': step, 'step': step}


def val_row(epoch, value):
    return {'tad/mAP@0.50': value + 0.1, 'tad/average_mAP': value, 'step': epoch}


def test_read_val_curve_keeps_only_validations_and_later_runs_win(tmp_path):
    run = str(tmp_path / 'run')
    write_log(run, '20260101_000000', [train_row(10), val_row(1, 0.1), train_row(20),
                                       val_row(2, 0.2)])
    # resumed from epoch 2: epoch 2 validated again with another value, then epoch 3
    write_log(run, '20260101_010000', [val_row(2, 0.25), train_row(30), val_row(3, 0.3)],
              tail='{"tad/average_mAP": 0.9, "st')  # killed while writing the last line
    assert read_val_curve(run) == [(1, 0.1), (2, 0.25), (3, 0.3)]
    assert read_val_curve(run, 'tad/mAP@0.50') == [(1, pytest.approx(0.2)),
                                                  (2, pytest.approx(0.35)),
                                                  (3, pytest.approx(0.4))]


def test_read_val_curve_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        read_val_curve(str(tmp_path))
    run = str(tmp_path / 'run')
    write_log(run, 's', [train_row(10)])
    with pytest.raises(ValueError, match='val_interval'):
        read_val_curve(run)
    write_log(run, 's', [train_row(10), val_row(1, 0.1)])
    with pytest.raises(ValueError, match=r'keys: \[.tad/average_mAP., .tad/mAP@0.50.\]'):
        read_val_curve(run, 'tad/recall')
    # a broken line that is not the last one is corruption, not a killed run
    write_log(run, 's', [val_row(1, 0.1)], tail='{broken\n' + json.dumps(val_row(2, 0.2)))
    with pytest.raises(ValueError, match=r'scalars.json:2: not JSON'):
        read_val_curve(run)


def test_mean_curve_and_table():
    rows = mean_curve([[(1, 0.1), (2, 0.3)], [(1, 0.3), (2, 0.5), (3, 0.6)]])
    assert [(s, n) for s, _, _, n in rows] == [(1, 2), (2, 2), (3, 1)]
    assert rows[0][1:3] == (pytest.approx(0.2), pytest.approx(0.1))
    assert rows[2][1:3] == (pytest.approx(0.6), 0.0)
    table = format_curve_table({'A': rows, 'B': [(2, 0.5, 0.0, 1)]})
    lines = table.splitlines()
    assert lines[0] == '| epoch | A | B |'
    assert lines[2] == '| 1 | 20.00 +- 10.00 |  |'
    assert lines[3] == '| 2 | 40.00 +- 10.00 | 50.00 |'
    assert lines[4] == '| 3 | 60.00 |  |'


def test_plot_curves_writes_only_the_png(tmp_path):
    out = str(tmp_path / 'sub' / 'c.png')
    assert plot_curves({'A': [(1, 0.1, 0.0, 1), (2, 0.2, 0.05, 2)]}, out) == out
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert os.listdir(osp.dirname(out)) == ['c.png']


def test_plot_curve_tool(tmp_path, capsys):
    for seed, vals in ((0, (0.1, 0.2)), (1, (0.3, 0.4))):
        write_log(str(tmp_path / f'seed_{seed}'), 's',
                  [val_row(e, v) for e, v in enumerate(vals, 1)])
    out = str(tmp_path / 'curve.png')
    runs = f'SegTAD={tmp_path / "seed_0"},{tmp_path / "seed_1"}'
    assert plot_curve.main([runs, '--out', out]) == 0
    printed = capsys.readouterr().out
    assert '| 1 | 20.00 +- 10.00 |' in printed and '| 2 | 30.00 +- 10.00 |' in printed
    assert osp.isfile(out)
    with pytest.raises(ValueError, match='LABEL=WORK_DIR'):
        plot_curve.main([str(tmp_path / 'seed_0')])
    with pytest.raises(ValueError, match="label 'A' given twice"):
        plot_curve.main([f'A={tmp_path / "seed_0"}', f'A={tmp_path / "seed_1"}'])
