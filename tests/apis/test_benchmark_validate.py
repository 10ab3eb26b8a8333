"""The benchmark SPEC's ``validate``: run options, protocol checks, and the report's validation
curves from hand-written scalar logs in fake run dirs (no training: runs are faked)."""
import json
import os
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import benchmark as benchmark_tool  # noqa: E402

ITER_LOOP = ("train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50)\n"
             "log_processor = dict(by_epoch=False)")


def write_spec(root, data, validate, extra=''):
    """A 2-seed spec: Tiny (epoch-based), Iter (iteration-based), NoVal (epoch-based);
    ``validate='omit'`` leaves the key out."""
    (root / 'tiny_cfg.py').write_text(tiny_config_text(data, epochs=2))
    (root / 'iter_cfg.py').write_text(tiny_config_text(data, extra=ITER_LOOP))
    spec = root / 'spec.py'
    spec.write_text(f'''
name = 'tiny'
work_dir = {str(root / 'work')!r}
seeds = [0, 1]
{'' if validate == 'omit' else f'validate = {validate!r}'}
dataset = dict(feature_root={data['feature_root']!r})
evaluator = dict(tiou_thresholds=[0.3, 0.5])
schedule = {{'val_dataloader.num_workers': 0}}
profile = dict(length=50)
methods = [dict(name='Tiny', config={str(root / 'tiny_cfg.py')!r}),
           dict(name='Iter', config={str(root / 'iter_cfg.py')!r}),
           dict(name='NoVal', config={str(root / 'tiny_cfg.py')!r},
                cfg_options={{'model.hidden': 32}})]
{extra}
''')
    return str(spec)


def test_run_options_with_and_without_validate(tmp_path, tiny_data):
    from tadet.apis.benchmark import load_spec, run_options
    out = str(tmp_path / 'run')
    feat = tiny_data['feature_root']
    common = {
        'train_dataloader.dataset.feature_root': feat,
        'test_dataloader.dataset.feature_root': feat,
        'test_evaluator.tiou_thresholds': [0.3, 0.5],
        'model.hidden': 32,
        'randomness.seed': 1,
        'test_evaluator.out_file': osp.join(out, 'predictions.json'),
        'test_evaluator.out_result': osp.join(out, 'eval_result.json'),
        'test_evaluator.plot_dir': out}
    spec = load_spec(write_spec(tmp_path, tiny_data, False))
    assert spec.validate is False
    # the schedule's val_dataloader key is dropped: there is no val loader to set
    assert run_options(spec, spec.methods[2], 1, out) == dict(
        common, val_dataloader=None, val_cfg=None, val_evaluator=None)
    assert run_options(spec, spec.methods[2], 1, out, {'val_evaluator.x': 1}) == dict(
        common, val_dataloader=None, val_cfg=None, val_evaluator=None)
    spec = load_spec(write_spec(tmp_path, tiny_data, True))
    assert spec.validate is True
    assert run_options(spec, spec.methods[2], 1, out) == dict(
        common, **{'val_dataloader.dataset.feature_root': feat,
                   'val_evaluator.tiou_thresholds': [0.3, 0.5],
                   'val_dataloader.num_workers': 0})
    # default: no validation
    spec = load_spec(write_spec(tmp_path, tiny_data, 'omit'))
    assert spec.validate is False
    assert run_options(spec, spec.methods[2], 1, out) == dict(
        common, val_dataloader=None, val_cfg=None, val_evaluator=None)


@pytest.mark.parametrize('value', ['yes', 1, None])
def test_validate_must_be_a_bool(tmp_path, tiny_data, capsys, value):
    from tadet.apis import run_cli
    from tadet.apis.benchmark import load_spec
    spec = write_spec(tmp_path, tiny_data, value)
    with pytest.raises(TypeError, match=r'validate must be True or False, got'):
        load_spec(spec)
    assert run_cli(benchmark_tool.main, [spec]) == 2
    err = capsys.readouterr().err
    assert 'validate must be True or False' in err and 'Traceback' not in err
    assert not (tmp_path / 'work').exists()


def test_check_protocol_with_validate(tmp_path, tiny_data, custom_module_dir):
    from tadet.apis.benchmark import check_protocol, load_spec
    spec = load_spec(write_spec(tmp_path, tiny_data, True))
    cfgs = check_protocol(spec)
    for cfg in cfgs.values():
        # the config's own validation, on the shared data and metric
        assert cfg.val_dataloader.dataset.feature_root == tiny_data['feature_root']
        assert cfg.val_dataloader.num_workers == 0 and cfg.val_cfg.type == 'ValLoop'
        assert cfg.val_evaluator.tiou_thresholds == [0.3, 0.5]
        assert cfg.val_evaluator.get('out_file') is None
    assert cfgs['Tiny'].train_cfg.val_interval == 2
    assert cfgs['Iter'].train_cfg.val_interval == 50
    # iteration-based: validations logged at the iteration, not at (always 0) epochs
    assert cfgs['Iter'].default_hooks.logger.log_metric_by_epoch is False
    assert 'log_metric_by_epoch' not in cfgs['Tiny'].default_hooks.logger
    # the val side is part of the protocol once it produces curves
    spec.methods[1]['cfg_options'] = {'val_evaluator.tiou_thresholds': [0.5]}
    with pytest.raises(ValueError, match=r"val_evaluator key\(s\) \['tiou_thresholds'\]"):
        check_protocol(spec)
    spec.methods[1]['cfg_options'] = {}
    spec.validate = False
    assert check_protocol(spec)['Iter'].val_dataloader is None
    # a config without validation: one error naming the keys and the way out
    (tmp_path / 'noval_cfg.py').write_text(
        tiny_config_text(tiny_data, extra='val_dataloader = None\nval_cfg = None'))
    spec.validate = True
    spec.methods[1] = dict(name='Bare', config=str(tmp_path / 'noval_cfg.py'))
    with pytest.raises(KeyError, match=r"'Bare'.*\['val_dataloader', 'val_cfg'\].*"
                                       r'validate=False'):
        check_protocol(spec)


def write_scalars(run, stamp, rows):
    d = osp.join(run, stamp, 'vis_data')
    os.makedirs(d, exist_ok=True)
    with open(osp.join(d, 'scalars.json'), 'w') as f:
        f.write(''.join(json.dumps(r) + '\n' for r in rows))


def fake_logs(work):
    """Tiny validates at epochs 1, 2 (seed 0: 10, 30 %; seed 1: 20, 40 %), Iter at
    iterations 50, 100 (seed 0 only), NoVal never."""
    train = {'loss': 1.0, 'lr': 0.01, 'step': 1}
    for seed, vals in ((0, (0.1, 0.3)), (1, (0.2, 0.4))):
        write_scalars(osp.join(work, 'Tiny', f'seed_{seed}'), '20260101_000000',
                      [train] + [{'tad/average_mAP': v, 'tad/mAP@0.30': 0.9, 'step': e}
                                 for e, v in enumerate(vals, 1)])
    write_scalars(osp.join(work, 'Iter', 'seed_0'), '20260101_000000',
                  [train, {'tad/average_mAP': 0.05, 'step': 50},
                   {'tad/average_mAP': 0.15, 'step': 100}])
    # seed 1 of Iter has no logs at all; NoVal only training lines
    for seed in (0, 1):
        write_scalars(osp.join(work, 'NoVal', f'seed_{seed}'), '20260101_000000', [train])


def fake_result(method, seed, config):
    return dict(
        method=method, seed=seed, config=config, checkpoint='x.pth',
        tiou_thresholds=[0.3, 0.5], mAP=[0.5, 0.3], average_mAP=0.4,
        per_class_AP={'jump': [0.5, 0.3], 'run': [0.5, 0.3]}, metrics={},
        train_time_s=1.0, train_cpu_s=1.0, train_parallel_runs=1, options={},
        test_time_s=1.0, test_cpu_s=1.0, num_test_videos=2,
        profile=dict(params=10, flops=100, length=50, snippets_per_s=100.0, videos_per_s=2.0,
                     peak_mem_mb=1.0, mem_method='VmHWM', device='cpu', threads=1))


def test_report_validation_curves(tmp_path):
    from tadet.apis.benchmark import attach_val_curves, summarize, write_report
    work = str(tmp_path / 'work')
    fake_logs(work)
    spec = Config(dict(name='fake', work_dir=work, seeds=[0, 1], validate=True,
                       methods=[dict(name=n, config=f'{n}.py')
                                for n in ('Tiny', 'Iter', 'NoVal')]))
    epoch_cfg = Config(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=2),
                            val_evaluator=dict(type='TADMetric')))
    iter_cfg = Config(dict(train_cfg=dict(by_epoch=False, max_iters=100),
                           val_evaluator=dict(type='TADMetric')))
    cfgs = dict(Tiny=epoch_cfg, Iter=iter_cfg, NoVal=epoch_cfg)
    results = [fake_result(m['name'], s, m['config']) for m in spec.methods for s in (0, 1)]
    logs = []
    results = attach_val_curves(results, spec, cfgs, log=logs.append)
    summary = summarize(results, spec)
    files = write_report(summary, work)

    rep = json.load(open(osp.join(work, 'report.json')))
    assert rep['validate'] is True
    runs = {(r['method'], r['seed']): r for r in rep['runs']}
    assert runs['Tiny', 0]['val_curve'] == [[1, 0.1], [2, 0.3]]
    assert runs['Tiny', 1]['val_curve'] == [[1, 0.2], [2, 0.4]]
    assert runs['Iter', 0]['val_curve'] == [[50, 0.05], [100, 0.15]]
    assert runs['Iter', 1]['val_curve'] is None and runs['NoVal', 0]['val_curve'] is None
    assert runs['Tiny', 0]['val_step'] == 'epoch' and runs['Iter', 0]['val_step'] == 'iteration'
    tiny, it, noval = rep['methods']
    # [step, mean, population std, seeds that logged the step]
    assert tiny['val_curve'] == [[1, pytest.approx(0.15), pytest.approx(0.05), 2],
                                 [2, pytest.approx(0.35), pytest.approx(0.05), 2]]
    assert it['val_curve'] == [[50, 0.05, 0.0, 1], [100, 0.15, 0.0, 1]]
    assert noval['val_curve'] is None
    assert any(ln.startswith('NoVal seed 0: no validation curve') for ln in logs)
    assert any(ln.startswith('Iter seed 1: no validation curve') for ln in logs)

    md = open(files['markdown']).read()
    section = md[md.index('## Validation curves'):]
    # epochs and iterations: separate tables, never one axis
    assert '| epoch | Tiny |' in section and '| iteration | Iter |' in section
    assert '| 1 | 15.00 +- 5.00 |' in section and '| 2 | 35.00 +- 5.00 |' in section
    assert '| 50 | 5.00 |' in section and '| 100 | 15.00 |' in section
    assert 'NoVal |' not in section
    assert 'No validation in the logs of: NoVal' in section
    assert '![validation curves](val_curves.png)' in section
    png = osp.join(work, 'val_curves.png')
    assert png in files['plots'] and os.path.getsize(png) > 0
    assert '## Validation curves' in benchmark_report_text(summary)

    # validate off: no curves, no section, no plot
    os.remove(png)
    spec.validate = False
    summary = summarize(attach_val_curves(results, spec, cfgs, log=logs.append), spec)
    files = write_report(summary, work)
    assert all(r['val_curve'] is None and r['val_step'] is None for r in summary['runs'])
    assert '## Validation curves' not in open(files['markdown']).read()
    assert not osp.exists(png) and len(files['plots']) == 3


def benchmark_report_text(summary):
    from tadet.apis.benchmark import format_report
    return format_report(summary)


def test_no_method_with_curves_says_so(tmp_path):
    from tadet.apis.benchmark import attach_val_curves, summarize, write_report
    work = str(tmp_path / 'work')
    spec = Config(dict(name='fake', work_dir=work, seeds=[0], validate=True,
                       methods=[dict(name='A', config='a.py')]))
    cfgs = dict(A=Config(dict(train_cfg=dict(type='EpochBasedTrainLoop'))))
    results = attach_val_curves([fake_result('A', 0, 'a.py')], spec, cfgs, log=lambda s: None)
    files = write_report(summarize(results, spec), work)
    md = open(files['markdown']).read()
    assert 'No validation in the logs of: A' in md and '| epoch |' not in md
    assert 'val_curves.png' not in md and not osp.exists(osp.join(work, 'val_curves.png'))


def test_eval_only_reads_curves_from_the_run_dirs(tmp_path, tiny_data, custom_module_dir,
                                                  monkeypatch, capsys):
    """run_benchmark --eval-only with validate: the curves come from the existing logs (the
    train / test / profile of a run are faked here)."""
    import tadet.apis.benchmark.runs as runs
    spec = write_spec(tmp_path, tiny_data, True)
    work = str(tmp_path / 'work')
    fake_logs(work)
    calls = []

    def fake_run_one(spec, method, seed, length, cfg_options, eval_only, log, retest):
        calls.append((method['name'], seed, eval_only))
        return fake_result(method['name'], seed, method['config'])
    monkeypatch.setattr(runs, 'run_one', fake_run_one)
    assert benchmark_tool.main([spec, '--eval-only']) == 0
    assert calls and all(e for *_, e in calls)
    md = open(osp.join(work, 'report.md')).read()
    assert '| epoch | Tiny |' in md and '| 1 | 15.00 +- 5.00 |' in md
    assert '| iteration | Iter |' in md and 'No validation in the logs of: NoVal' in md
    assert osp.getsize(osp.join(work, 'val_curves.png')) > 0
    assert 'val_curves.png' in capsys.readouterr().out


def test_iteration_based_loops_log_validations_at_the_iteration(tmp_path, tiny_data,
                                                                 custom_module_dir):
    """prepare_config: mmengine's LoggerHook would log an iteration-based run's validations at
    runner.epoch (always 0); an explicit setting is kept."""
    from tadet.apis.runner import is_iter_based, prepare_config
    cfg_file = tmp_path / 'iter_cfg.py'
    cfg_file.write_text(tiny_config_text(tiny_data, extra=ITER_LOOP))
    cfg = prepare_config(str(cfg_file))
    assert is_iter_based(cfg) and cfg.default_hooks.logger.log_metric_by_epoch is False
    cfg = prepare_config(str(cfg_file),
                         cfg_options={'default_hooks.logger.log_metric_by_epoch': True})
    assert cfg.default_hooks.logger.log_metric_by_epoch is True
    # mmengine's other spelling of an iteration-based loop
    assert is_iter_based(Config(dict(train_cfg=dict(by_epoch=False, max_iters=10))))
    assert not is_iter_based(Config(dict(train_cfg=dict(by_epoch=True, max_epochs=1))))
    assert not is_iter_based(Config(dict(train_cfg=dict(type='EpochBasedTrainLoop'))))
