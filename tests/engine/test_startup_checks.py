"""Issue 17: runtime keys checked before training, --resume without a checkpoint, a failed run
restores what it overwrote, stale temporaries removed, one-line errors (also from data-loader
workers), files named in write errors, prediction files respect the umask."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

from tadet.apis import run_cli  # noqa: E402


def write_cfg(tmp_path, data, name='cfg.py', **kw):
    p = tmp_path / name
    p.write_text(tiny_config_text(data, **kw))
    return str(p)


def last_line(err):
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize('option,named', [
    ('default_hooks.checkpoint.intervall=1', 'default_hooks.checkpoint.intervall'),
    ('env_cfg.cudnn_benchmarks=True', 'env_cfg.cudnn_benchmarks'),
    ('env_cfg.mp_cfg.mp_start_methd=fork', 'env_cfg.mp_cfg.mp_start_methd'),
    ('randomness.seeds=1', 'randomness.seeds'),
    ('default_hooks.logger.intervl=5', 'default_hooks.logger.intervl'),
    ('train_cfg.max_epoch=3', 'train_cfg.max_epoch'),
    ('train_cfg.max_epochs=abc', 'train_cfg.max_epochs'),
    ('train_cfg.max_epochs=0', 'train_cfg.max_epochs'),
    ('max_epochs=3', 'train_cfg.max_epochs'),  # would be ignored: names the key meant
])
def test_runtime_key_errors_before_anything_runs(tmp_path, tiny_data, custom_module_dir, capsys,
                                                 option, named):
    cfg = write_cfg(tmp_path, tiny_data, epochs=1)
    work = tmp_path / 'w'
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work), '--cfg-options', option])
    err = capsys.readouterr().err
    assert code == 2, err
    assert named in last_line(err) and 'Traceback' not in err
    assert not work.exists()  # failed before the Runner wrote anything


def test_custom_hook_key_error(tmp_path, tiny_data, custom_module_dir, capsys):
    cfg = write_cfg(tmp_path, tiny_data, epochs=1,
                    extra="custom_hooks = [dict(type='FiniteLossHook', intervall=2)]\n")
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(tmp_path / 'w')])
    err = capsys.readouterr().err
    assert code == 2 and 'custom_hooks[0].intervall' in err and "'interval'" in err


def test_cfg_option_without_value_names_it(tmp_path, tiny_data, capsys):
    with pytest.raises(SystemExit) as e:
        train_tool.parse_args([str(tmp_path / 'cfg.py'), '--cfg-options', 'max_epochs'])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'max_epochs' in last_line(err) and 'KEY=VALUE' in last_line(err)


def _dead_pid():
    p = subprocess.Popen([sys.executable, '-c', 'pass'])
    p.wait()
    return p.pid


def test_resume_restore_stale_temporaries_umask(tmp_path, tiny_data, custom_module_dir, capsys):
    cfg = write_cfg(tmp_path, tiny_data, epochs=1)
    work = tmp_path / 'w'
    # stale temporaries of a killed run (dead PID) and of a live process (kept)
    work.mkdir()
    dead, live = _dead_pid(), os.getppid()
    (work / f'epoch_1.pth.tmp-{dead}').write_bytes(b'x' * 100)
    (work / f'epoch_2.pth.tmp-{live}').write_bytes(b'x')

    # --resume into a work dir without checkpoint: said on stderr, trains from scratch
    old_umask = os.umask(0o002)
    try:
        code = run_cli(train_tool.main, [cfg, '--work-dir', str(work), '--resume'])
    finally:
        os.umask(old_umask)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert 'no checkpoint in' in captured.err and 'from scratch' in last_line(captured.err)
    assert 'Failed to search registry' not in captured.out  # log_processor registry exists
    assert not (work / f'epoch_1.pth.tmp-{dead}').exists()
    assert (work / f'epoch_2.pth.tmp-{live}').exists()
    assert (work / 'epoch_1.pth').is_file()
    dumped = (work / 'cfg.py').read_bytes()

    # test: removes the stale temporaries of the prediction file; the file respects the umask
    out = tmp_path / 'preds' / 'preds.json'
    out.parent.mkdir()
    stale_pred = out.parent / f'.preds.json.{dead}.0123abcd.tmp'
    other = out.parent / f'.other.json.{dead}.0123abcd.tmp'  # not ours: kept
    stale_pred.write_text('{')
    other.write_text('{')
    old_umask = os.umask(0o002)
    try:
        assert test_tool.main([cfg, str(work / 'epoch_1.pth'), '--out', str(out),
                               '--work-dir', str(tmp_path / 'tw')]) == 0
    finally:
        os.umask(old_umask)
    assert not stale_pred.exists() and other.exists()
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o664)
    capsys.readouterr()

    # a run that fails after the Runner dumped its config restores the previous run's config
    np.save(osp.join(tiny_data['feature_root'], 'train_video_0.npy'),
            np.zeros((40, 9), np.float32))
    with open(cfg, 'a') as f:
        f.write('\n# a changed config\n')
    before = sorted(os.listdir(work))
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work)])
    err = capsys.readouterr().err
    assert code == 2 and 'train_video_0' in last_line(err)
    assert (work / 'cfg.py').read_bytes() == dumped
    assert sorted(os.listdir(work)) == before


def test_worker_error_is_the_last_line(tmp_path, tiny_data, custom_module_dir, capsys):
    np.save(osp.join(tiny_data['feature_root'], 'train_video_1.npy'),
            np.full((40, 8), np.nan, np.float32))
    cfg = write_cfg(tmp_path, tiny_data, epochs=1)
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                                     'train_dataloader.num_workers=2'])
    err = capsys.readouterr().err
    assert code == 2
    line = last_line(err)
    assert line.startswith('error: FeatureError: Video') and 'train_video_1' in line, err
    assert 'NaN' in line and 'DataLoader worker' in line
    assert 'Traceback' not in err and 'tadet.datasets' not in line


def test_worker_traceback_reduced_to_its_exception_line():
    from tadet.apis.cli import error_line
    msg = ('Caught KeyError in DataLoader worker process 1.\nOriginal Traceback (most recent '
           'call last):\n  File "x.py", line 3, in f\n    raise KeyError(\'video\')\n'
           "KeyError: 'video'\n")
    assert error_line(RuntimeError(msg)) == "KeyError: 'video' (in DataLoader worker process 1)"


WRITE_WITH_SMALL_FSIZE = r'''
import resource, sys, torch
import tadet  # noqa: F401  (makes checkpoint saves atomic)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
from mmengine.runner import save_checkpoint
from tadet.evaluation.functional import write_json_atomic
try:
    save_checkpoint({'state_dict': {'w': torch.zeros(100000)}}, sys.argv[1] + '/epoch_1.pth')
except OSError as e:
    print('CKPT', e)
try:
    write_json_atomic({'x': 'y' * 100000}, sys.argv[1] + '/preds.json')
except OSError as e:
    print('JSON', e)
'''


def test_file_too_large_names_the_file(tmp_path):
    r = subprocess.run([sys.executable, '-c', WRITE_WITH_SMALL_FSIZE, str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = dict(line.split(' ', 1) for line in r.stdout.splitlines())
    assert 'File too large' in lines['CKPT'] and 'epoch_1.pth' in lines['CKPT']
    assert 'File too large' in lines['JSON'] and 'preds.json' in lines['JSON']
    assert os.listdir(tmp_path) == []  # no temporary left


def test_stale_temporaries_rules(tmp_path):
    from tadet.utils.stale_files import remove_stale_temporaries
    dead = _dead_pid()
    names = [f'epoch_3.pth.tmp-{dead}', f'.r.json.{dead}.89abcdef.tmp',
             f'epoch_4.pth.tmp-{os.getpid()}', 'epoch_5.pth', 'notes.tmp']
    for n in names:
        (tmp_path / n).write_text('x')
    legacy = tmp_path / '.p.json.ab_12XYZ.tmp'  # mkstemp name of older versions: by age
    legacy.write_text('x')
    removed = remove_stale_temporaries(str(tmp_path))
    assert sorted(osp.basename(p) for p in removed) == sorted(names[:2])
    assert legacy.exists()
    os.utime(legacy, (0, 0))
    assert remove_stale_temporaries(str(tmp_path)) == [str(legacy)]


def test_log_processor_registry_in_tadet_scope():
    from mmengine.registry import LOG_PROCESSORS as ROOT

    from tadet.registry import LOG_PROCESSORS
    assert ROOT._search_child('tadet') is LOG_PROCESSORS
    assert LOG_PROCESSORS.get('LogProcessor') is not None


def test_epoch_metric_line_in_percent_like_the_tables():
    from mmengine.registry import LOG_PROCESSORS as ROOT
    from mmengine.registry import DefaultScope

    from tadet.engine.log_processor import TADLogProcessor, metrics_in_percent
    line = ('Epoch(test) [2/2]    tad/mAP@0.30: 0.0049  tad/average_mAP: 0.8700  '
            'tad/AR@100: 0.5000  tad/AUC: 0.1234  data_time: 0.0052  time: 0.0145')
    assert metrics_in_percent(line) == (
        'Epoch(test) [2/2]    tad/mAP@0.30: 0.49%  tad/average_mAP: 87.00%  '
        'tad/AR@100: 50.00%  tad/AUC: 12.34%  data_time: 0.0052  time: 0.0145')
    with DefaultScope.overwrite_default_scope('tadet'):
        built = ROOT.build(dict(type='LogProcessor', window_size=20, by_epoch=True))
    assert type(built) is TADLogProcessor


def test_runtime_check_accepts_every_shipped_config_and_registry_keys():
    import glob

    from mmengine.config import Config

    from tadet.engine.validation import ConfigKeyError, check_runtime_cfg
    cfg = Config(dict(custom_hooks=[dict(type='FiniteLossHook', interval=2, priority='LOW',
                                         _scope_='tadet')],
                      log_processor=dict(type='LogProcessor', window_size=5),
                      train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1)))
    check_runtime_cfg(cfg, 'train')
    with pytest.raises(ConfigKeyError, match=r'train_cfg\.val_intervall'):
        check_runtime_cfg(Config(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1,
                                                     val_intervall=1))), 'train')
    checked = 0
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py'))):
        if '_base_' in path:
            continue
        try:
            cfg = Config.fromfile(path)
        except Exception:  # not a config (a tutorial's module); loading is tested elsewhere
            continue
        for mode in ('train', 'test'):
            check_runtime_cfg(cfg, mode)
        checked += 1
    assert checked >= 10


def test_one_rule_decides_the_train_loop_type():
    """train_loop_type / is_iter_based follow mmengine's Runner.build_train_loop (type, else
    by_epoch); the config check and the benchmark's curve axis use that one rule, and a
    train_cfg with neither key is rejected up front instead of by mmengine's KeyError."""
    from mmengine.config import Config
    from mmengine.runner import IterBasedTrainLoop

    from tadet.apis.runner import is_iter_based as cfg_is_iter_based
    from tadet.engine.validation import (ConfigKeyError, check_runtime_cfg, is_iter_based,
                                         train_loop_type)
    from tadet.registry import LOOPS

    assert train_loop_type(dict(type='IterBasedTrainLoop', max_iters=3)) == 'IterBasedTrainLoop'
    assert train_loop_type(dict(by_epoch=True, max_epochs=1)) == 'EpochBasedTrainLoop'
    assert train_loop_type(dict(by_epoch=False, max_iters=1)) == 'IterBasedTrainLoop'
    assert train_loop_type(dict(max_epochs=1)) is None and train_loop_type(None) is None
    assert is_iter_based(dict(type='IterBasedTrainLoop')) and is_iter_based(dict(by_epoch=False))
    assert not is_iter_based(dict(type='EpochBasedTrainLoop')) and not is_iter_based({})
    assert is_iter_based(dict(type=IterBasedTrainLoop))

    @LOOPS.register_module(force=True)
    class MyIterLoop(IterBasedTrainLoop):
        pass
    assert is_iter_based(dict(type='MyIterLoop'))
    assert cfg_is_iter_based(Config(dict(train_cfg=dict(type='MyIterLoop', max_iters=2))))
    assert not cfg_is_iter_based(Config(dict()))

    check_runtime_cfg(Config(dict(train_cfg=dict(by_epoch=False, max_iters=2))), 'train')
    with pytest.raises(ConfigKeyError, match=r'train_cfg: sets neither type nor by_epoch'):
        check_runtime_cfg(Config(dict(train_cfg=dict(max_epochs=2))), 'train')
    with pytest.raises(ConfigKeyError, match=r'train_cfg\.max_epochs'):  # keys of the loop
        check_runtime_cfg(Config(dict(train_cfg=dict(by_epoch=False, max_epochs=2))), 'train')
