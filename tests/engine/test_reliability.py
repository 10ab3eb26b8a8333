"""Resume after a hard kill, determinism, NaN stop, atomic checkpoints (issue 9)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

from tadet.apis import run_cli  # noqa: E402


def write_cfg(tmp_path, data, name='cfg.py', **kw):
    p = tmp_path / name
    p.write_text(tiny_config_text(data, **kw))
    return str(p)


def predictions(tmp_path, cfg, ckpt, name):
    out = str(tmp_path / f'{name}.json')
    assert test_tool.main([cfg, ckpt, '--out', out, '--work-dir', str(tmp_path / f'{name}_w')]) == 0
    return json.load(open(out))['results']


def state(path):
    return torch.load(path, weights_only=False)['state_dict']


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


DROPOUT = "model.update(dropout=0.3)\n"


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path, tiny_data,
                                                            custom_module_dir):
    cfg = write_cfg(tmp_path, tiny_data, epochs=3, extra=DROPOUT)
    full = str(tmp_path / 'full')
    assert train_tool.main([cfg, '--work-dir', full]) == 0

    killed_cfg = write_cfg(tmp_path, tiny_data, name='killed.py', epochs=3, extra=DROPOUT +
                           "custom_hooks = [dict(type='KillAtIterHook', iteration=9)]\n")
    part = str(tmp_path / 'part')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([custom_module_dir, REPO]))
    r = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), killed_cfg,
                        '--work-dir', part], capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == -9, r.stderr[-2000:]
    # killed in epoch 2: epoch 1's checkpoint is complete, epoch 2's was never written
    assert osp.isfile(osp.join(part, 'epoch_1.pth'))
    assert not osp.exists(osp.join(part, 'epoch_2.pth'))
    assert not [f for f in os.listdir(part) if '.tmp-' in f]

    assert train_tool.main([cfg, '--work-dir', part, '--resume']) == 0
    assert_same_weights(state(osp.join(full, 'epoch_3.pth')), state(osp.join(part, 'epoch_3.pth')))
    assert (predictions(tmp_path, cfg, osp.join(full, 'epoch_3.pth'), 'a') ==
            predictions(tmp_path, cfg, osp.join(part, 'epoch_3.pth'), 'b'))


def test_same_seed_same_metrics_different_seed_differs(tmp_path, tiny_data, custom_module_dir):
    cfg = write_cfg(tmp_path, tiny_data, epochs=2, extra=DROPOUT)
    for name in ('a', 'b'):
        assert train_tool.main([cfg, '--work-dir', str(tmp_path / name)]) == 0
    assert_same_weights(state(str(tmp_path / 'a' / 'epoch_2.pth')),
                        state(str(tmp_path / 'b' / 'epoch_2.pth')))
    assert train_tool.main([cfg, '--work-dir', str(tmp_path / 'c'),
                            '--cfg-options', 'randomness.seed=1']) == 0
    a, c = state(str(tmp_path / 'a' / 'epoch_2.pth')), state(str(tmp_path / 'c' / 'epoch_2.pth'))
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_nan_loss_stops_naming_iteration_and_term(tmp_path, tiny_data, custom_module_dir,
                                                  capsys):
    cfg = write_cfg(tmp_path, tiny_data, epochs=2, extra="model.update(nan_after_iters=3)\n")
    work = tmp_path / 'w'
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work)])
    err = capsys.readouterr().err
    assert code == 2
    assert 'NonFiniteLossError' in err and 'iteration 4' in err and 'loss_aux=nan' in err
    assert 'Traceback' not in err
    assert not work.exists()  # nothing half-written left behind (no checkpoint was due yet)


def test_checkpoint_save_is_atomic(tmp_path, monkeypatch):
    from mmengine.runner import save_checkpoint  # the function mmengine's hooks call
    target = tmp_path / 'epoch_1.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(target))
    assert torch.equal(torch.load(target, weights_only=False)['state_dict']['w'], torch.ones(3))

    real_replace = os.replace

    def crash(*args):  # the process dies after writing the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(target))
    monkeypatch.setattr(os, 'replace', real_replace)
    # the old checkpoint is intact and no temporary file is left
    assert torch.equal(torch.load(target, weights_only=False)['state_dict']['w'], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


def test_runner_uses_atomic_save():
    import mmengine.runner.runner as runner_mod

    from tadet.utils.compat import atomic_save_checkpoint
    assert runner_mod.save_checkpoint is atomic_save_checkpoint


def test_truncated_checkpoint_resume_gives_clear_error(tmp_path, tiny_data, custom_module_dir,
                                                       capsys):
    cfg = write_cfg(tmp_path, tiny_data, epochs=1)
    work = tmp_path / 'w'
    assert train_tool.main([cfg, '--work-dir', str(work)]) == 0
    ckpt = work / 'epoch_1.pth'
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work), '--resume', str(ckpt),
                                     '--cfg-options', 'train_cfg.max_epochs=2'])
    err = capsys.readouterr().err
    assert code == 2 and 'epoch_1.pth' in err and 'truncated' in err


def test_typo_in_top_level_key_is_an_error(tmp_path, tiny_data, custom_module_dir, capsys):
    cfg = write_cfg(tmp_path, tiny_data, extra="optim_wraper = dict(optimizer=dict(lr=1.0))\n")
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(tmp_path / 'w')])
    err = capsys.readouterr().err
    assert code == 2 and "'optim_wraper'" in err and "'optim_wrapper'" in err
    assert not (tmp_path / 'w').exists()
