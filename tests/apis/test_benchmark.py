"""tools/benchmark.py / tadet.apis.benchmark on two tiny methods (1-2 epoch schedules).

One benchmark (2 methods x 2 seeds) runs once per module; the tests read, resume and
re-evaluate it.
"""
import glob
import json
import os
import os.path as osp
import shutil
import sys

import pytest

from tadet_testing import FIXTURES, REPO, forget_module, make_tiny_dataset, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import benchmark as benchmark_tool  # noqa: E402


def write_spec(root, data, work, extra=''):
    cfg = root / 'tiny_cfg.py'
    cfg.write_text(tiny_config_text(data, epochs=2))
    spec = root / 'spec.py'
    spec.write_text(f'''
name = 'tiny'
work_dir = {str(work)!r}
seeds = [0, 1]
dataset = dict(feature_root={data['feature_root']!r})
evaluator = dict(tiou_thresholds=[0.3, 0.5])
schedule = {{'train_cfg.max_epochs': 1}}
profile = dict(repeat=1, warmup=0, isolate=False)
methods = [dict(name='Tiny', config={str(cfg)!r}),
           dict(name='Wide', config={str(cfg)!r},
                cfg_options={{'model.hidden': 32, 'train_cfg.max_epochs': 2}})]
{extra}
''')
    return str(spec)


@pytest.fixture(scope='module')
def custom_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('custom')
    shutil.copy(f'{FIXTURES}/tiny_tad.py', d / 'tiny_tad.py')
    sys.path.insert(0, str(d))
    yield d
    sys.path.remove(str(d))
    forget_module('tiny_tad')


@pytest.fixture(scope='module')
def bench(tmp_path_factory, custom_dir):
    root = tmp_path_factory.mktemp('bench')
    data = make_tiny_dataset(root / 'data')
    work = root / 'work'
    spec = write_spec(root, data, work)
    from io import StringIO
    from contextlib import redirect_stdout
    buf = StringIO()
    with redirect_stdout(buf):
        assert benchmark_tool.main([spec]) == 0
    return dict(root=root, data=data, work=work, spec=spec, out=buf.getvalue())


def test_report_tables_files_and_aggregation(bench):
    work, out = bench['work'], bench['out']
    for name in ('report.md', 'report.json', 'mAP_vs_tiou.png', 'accuracy_vs_speed.png',
                 'per_class_AP.png', 'benchmark.log'):
        assert (work / name).stat().st_size > 0, name
    rep = json.load(open(work / 'report.json'))
    assert [m['name'] for m in rep['methods']] == ['Tiny', 'Wide']
    tiny, wide = rep['methods']
    assert tiny['seeds'] == [0, 1] and tiny['tiou_thresholds'] == [0.3, 0.5]
    # the spec's schedule for all methods, a method's own override wins
    assert osp.isfile(work / 'Tiny' / 'seed_0' / 'epoch_1.pth')
    assert osp.isfile(work / 'Wide' / 'seed_1' / 'epoch_2.pth')
    assert not glob.glob(str(work / 'Tiny' / '*' / 'epoch_2.pth'))
    assert wide['params'] == (8 * 32 * 3 + 32) + (32 * 3 * 3 + 3)
    # mean +- std over the two seeds, from the per-run results
    runs = [json.load(open(work / 'Tiny' / f'seed_{s}' / 'result.json')) for s in (0, 1)]
    avg = [r['average_mAP'] for r in runs]
    assert tiny['average_mAP_mean'] == pytest.approx(sum(avg) / 2)
    assert tiny['average_mAP_std'] == pytest.approx(abs(avg[0] - avg[1]) / 2)
    assert tiny['mAP_mean'][0] == pytest.approx((runs[0]['mAP'][0] + runs[1]['mAP'][0]) / 2)
    assert f'{100 * tiny["average_mAP_mean"]:.2f} +- {100 * tiny["average_mAP_std"]:.2f}' in out
    assert runs[0]['train_time_s'] > 0 and runs[0]['profile']['snippets_per_s'] > 0
    assert 0 < runs[0]['train_cpu_s'] and tiny['train_cpu_s'] > 0 and 'train CPU' in out
    # speed measured on one video of the median test length (test videos: 48..63 snippets)
    assert 48 <= runs[0]['profile']['length'] <= 63
    assert set(tiny['per_class_AP']) == {'jump', 'run'}
    assert 'mAP@0.30' in out and 'snippets/s' in out and 'peak mem' in out
    md = (work / 'report.md').read_text()
    assert '| Tiny |' in md and '| Wide |' in md and 'videos/s' in md
    # each run keeps its predictions and its own per-class plot (TADMetric's plot_dir)
    assert osp.isfile(work / 'Tiny' / 'seed_0' / 'per_class_AP.png')
    assert json.load(open(work / 'Tiny' / 'seed_0' / 'predictions.json'))['results']


def test_resume_and_eval_only(bench, capsys):
    """Finished runs are not redone; --eval-only tests the others from their checkpoints."""
    from tadet.apis import run_cli
    work = bench['work']
    mtime = os.path.getmtime(work / 'Tiny' / 'seed_1' / 'result.json')
    os.remove(work / 'Wide' / 'seed_1' / 'result.json')
    os.remove(work / 'Tiny' / 'seed_0' / 'result.json')
    assert benchmark_tool.main([bench['spec'], '--eval-only']) == 0
    out = capsys.readouterr().out
    assert out.count('not redone') == 2
    assert 'Wide seed 1: testing' in out and 'Tiny seed 0: testing' in out
    assert ': training' not in out
    assert os.path.getmtime(work / 'Tiny' / 'seed_1' / 'result.json') == mtime
    assert 'finished with other settings' not in out
    res = json.load(open(work / 'Tiny' / 'seed_0' / 'result.json'))
    # the train time recorded when it was trained is kept
    assert res['checkpoint'].endswith('epoch_1.pth') and res['train_time_s'] > 0
    # a finished run is kept even when the spec changed, with a warning naming the key
    assert benchmark_tool.main([bench['spec'], '--methods', 'Tiny', '--seeds', '1',
                                '--cfg-options', 'model.hidden=4']) == 0
    out = capsys.readouterr().out
    assert 'not redone' in out and 'finished with other settings' in out
    assert "['model.hidden']" in out
    # a work dir copied elsewhere: its runs' output paths moved with it, no warning
    moved = bench['root'] / 'moved'
    shutil.copytree(work, moved)
    assert benchmark_tool.main([bench['spec'], '--methods', 'Tiny', '--seeds', '0',
                                '--work-dir', str(moved)]) == 0
    out = capsys.readouterr().out
    assert 'not redone' in out and 'finished with other settings' not in out
    # nothing trained in an empty work dir: one clear error
    code = run_cli(benchmark_tool.main, [bench['spec'], '--eval-only', '--work-dir',
                                         str(bench['root'] / 'empty')])
    err = capsys.readouterr().err
    assert code == 2 and 'no checkpoint' in err and 'Traceback' not in err


def test_parallel_runs_match_sequential_runs(bench, tmp_path, capsys):
    """--jobs 2: train + test in two worker processes, profiles after; same metrics as the
    sequential benchmark, each run's output in its run.log, the report says so."""
    work = tmp_path / 'par'
    assert benchmark_tool.main([bench['spec'], '--jobs', '2', '--work-dir', str(work)]) == 0
    out = capsys.readouterr().out
    assert '4 run(s) training and testing 2 at a time' in out
    for name in ('Tiny', 'Wide'):
        for seed in (0, 1):
            par = json.load(open(work / name / f'seed_{seed}' / 'result.json'))
            seq = json.load(open(bench['work'] / name / f'seed_{seed}' / 'result.json'))
            assert par['mAP'] == seq['mAP'] and par['average_mAP'] == seq['average_mAP']
            assert par['train_parallel_runs'] == 2 and par['profile']['snippets_per_s'] > 0
            assert 'Epoch(train)' in (work / name / f'seed_{seed}' / 'run.log').read_text()
    rep = json.load(open(work / 'report.json'))
    assert [m['train_parallel_runs'] for m in rep['methods']] == [2, 2]
    assert 'up to 2 at a time' in out
    # finished runs are not redone, in parallel mode too
    assert benchmark_tool.main([bench['spec'], '--jobs', '2', '--work-dir', str(work)]) == 0
    out = capsys.readouterr().out
    assert out.count('not redone') == 4 and 'at a time;' not in out
    # --eval-only in parallel: tested once, in the workers (not again before profiling)
    os.remove(work / 'Wide' / 'seed_0' / 'result.json')
    os.remove(work / 'Tiny' / 'seed_1' / 'result.json')
    assert benchmark_tool.main([bench['spec'], '--jobs', '2', '--work-dir', str(work),
                                '--eval-only']) == 0
    out = capsys.readouterr().out
    assert '2 run(s) testing 2 at a time' in out and ': testing' not in out
    assert (work / 'Wide' / 'seed_0' / 'run.log').read_text().count(': testing') == 2
    assert json.load(open(work / 'Wide' / 'seed_0' / 'result.json'))['mAP'] == json.load(
        open(bench['work'] / 'Wide' / 'seed_0' / 'result.json'))['mAP']


def test_run_status_from_log(tmp_path):
    from tadet.apis.benchmark.runs import _run_status
    log = tmp_path / 'run.log'
    assert _run_status(str(log)) is None  # not started: no status line
    log.write_text('loading annotations\n')
    assert _run_status(str(log)) == 'starting'
    log.write_text('x - INFO - Epoch(train)  [3][ 50/164]  lr: 1e-3  eta: 0:01:32  time: 0.2\n'
                   'x - INFO - Exp name: afsd\n')
    assert _run_status(str(log)) == 'train [3][ 50/164] eta 0:01:32'
    with open(log, 'a') as f:
        f.write('x - INFO - Epoch(test) [150/210]    eta: 0:00:12  time: 0.1\n')
    assert _run_status(str(log)) == 'test [150/210] eta 0:00:12'
    # iteration-based loops (the snippet baseline)
    log.write_text('x - INFO - Iter(train) [ 600/1500]  lr: 1e-3  eta: 0:06:00  time: 0.4\n')
    assert _run_status(str(log)) == 'train [ 600/1500] eta 0:06:00'


def test_parallel_run_failure_names_the_run(bench, tmp_path, capsys):
    from tadet.apis import run_cli
    spec = write_spec(tmp_path, bench['data'], tmp_path / 'w',
                      extra="methods[1]['cfg_options']['model.hiden'] = 3")
    code = run_cli(benchmark_tool.main, [spec, '--jobs', '2', '--seeds', '0'])
    err = capsys.readouterr().err
    assert code == 2 and 'Wide seed 0' in err and 'hiden' in err and 'run.log' in err
    assert not glob.glob(str(tmp_path / 'w' / '*' / 'seed_0' / 'result.json'))


def test_spec_errors(bench, capsys):
    from tadet.apis import run_cli
    from tadet.apis.benchmark import check_protocol, load_spec
    root, data = bench['root'] / 'errors', bench['data']
    root.mkdir()
    spec = write_spec(root, data, root / 'w', extra="methodz = []")
    assert run_cli(benchmark_tool.main, [spec]) == 2
    assert 'methodz' in capsys.readouterr().err
    spec = write_spec(root, data, root / 'w', extra="methods[1]['cfgoptions'] = {}")
    with pytest.raises(KeyError, match='cfgoptions'):
        load_spec(spec)
    spec = write_spec(root, data, root / 'w')
    assert run_cli(benchmark_tool.main, [spec, '--methods', 'Nope']) == 2
    assert 'Nope' in capsys.readouterr().err
    # a bad --jobs fails before anything is written
    assert run_cli(benchmark_tool.main, [spec, '--jobs', '0']) == 2
    assert 'jobs must be >= 1' in capsys.readouterr().err
    assert not (root / 'w').exists()
    # a method evaluated on other test data or another metric breaks the protocol
    s = load_spec(spec)
    s.methods[1]['cfg_options'] = {'test_evaluator.tiou_thresholds': [0.5]}
    with pytest.raises(ValueError, match='tiou_thresholds'):
        check_protocol(s)
    s.methods[1]['cfg_options'] = {'test_dataloader.dataset.subset': 'train'}
    with pytest.raises(ValueError, match='subset'):
        check_protocol(s)


def test_shipped_specs_load():
    """configs/benchmark/*.py name existing configs that share one protocol (with validate,
    on the val side too)."""
    from tadet.apis.benchmark import check_protocol, load_spec
    specs = glob.glob(osp.join(REPO, 'configs', 'benchmark', '*.py'))
    assert specs
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        for path in specs:
            spec = load_spec(path)
            cfgs = check_protocol(spec)
            assert len(cfgs) == len(spec.methods) >= 2
            for cfg in cfgs.values():
                assert cfg.test_evaluator.tiou_thresholds == [0.3, 0.4, 0.5, 0.6, 0.7]
                if not spec.validate:
                    assert cfg.val_dataloader is None and cfg.val_cfg is None
                    continue
                # validate: the config's own validation on the shared data and metric
                assert cfg.val_cfg is not None and cfg.train_cfg.val_interval >= 1
                assert cfg.val_evaluator.tiou_thresholds == [0.3, 0.4, 0.5, 0.6, 0.7]
                for k, v in spec.dataset.items():
                    assert cfg.val_dataloader.dataset[k] == v
    finally:
        os.chdir(cwd)
