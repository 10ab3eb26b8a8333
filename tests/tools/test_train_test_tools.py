"""tools/train.py and tools/test.py end to end on a tiny model registered via custom_imports."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402


def write_cfg(tmp_path, data, **kw):
    p = tmp_path / 'tiny_cfg.py'
    p.write_text(tiny_config_text(data, **kw))
    return str(p)


def test_train_test_custom_component(tmp_path, tiny_data, custom_module_dir):
    cfg = write_cfg(tmp_path, tiny_data, epochs=3)
    work = str(tmp_path / 'work')
    assert train_tool.main([cfg, '--work-dir', work]) == 0
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))
    out = str(tmp_path / 'preds.json')
    assert test_tool.main([cfg, osp.join(work, 'epoch_3.pth'), '--out', out,
                           '--work-dir', work]) == 0
    preds = json.load(open(out))
    assert set(preds) >= {'version', 'results', 'external_data'}
    assert set(preds['results']) == {'test_video_0', 'test_video_1'}
    det = [d for v in preds['results'].values() for d in v]
    assert det and all(d['label'] in ('jump', 'run') for d in det)
    assert all(0 <= d['segment'][0] <= d['segment'][1] for d in det)


def test_resume_continues_and_matches(tmp_path, tiny_data, custom_module_dir):
    import torch
    cfg = write_cfg(tmp_path, tiny_data, epochs=2)
    full = str(tmp_path / 'full')
    assert train_tool.main([cfg, '--work-dir', full]) == 0
    part = str(tmp_path / 'part')
    assert train_tool.main([cfg, '--work-dir', part,
                            '--cfg-options', 'train_cfg.max_epochs=1']) == 0
    assert train_tool.main([cfg, '--work-dir', part, '--resume']) == 0
    a = torch.load(osp.join(full, 'epoch_2.pth'), weights_only=False)['state_dict']
    b = torch.load(osp.join(part, 'epoch_2.pth'), weights_only=False)['state_dict']
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_cfg_options_and_unknown_key(tmp_path, tiny_data, custom_module_dir, capsys):
    from tadet.apis import prepare_config
    cfg = write_cfg(tmp_path, tiny_data)
    c = prepare_config(cfg, cfg_options={'model.hidden': 4, 'train_cfg.max_epochs': 1})
    assert c.model.hidden == 4 and c.train_cfg.max_epochs == 1
    from tadet.apis import run_cli
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(tmp_path / 'w'),
                                     '--cfg-options', 'model.hiden=4'])
    err = capsys.readouterr().err
    assert code == 2 and "hiden" in err and 'Traceback' not in err


def test_cli_subprocess_bad_checkpoint(tmp_path, tiny_data, custom_module_dir):
    cfg = write_cfg(tmp_path, tiny_data)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'garbage')
    env = dict(os.environ, PYTHONPATH=custom_module_dir + os.pathsep + REPO)
    out = tmp_path / 'preds.json'
    r = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), cfg, str(bad),
                        '--out', str(out), '--work-dir', str(tmp_path / 'w')],
                       capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == 2
    assert 'bad.pth' in r.stderr and 'Traceback' not in r.stderr
    assert not out.exists()


def test_failed_run_leaves_no_partial_output(tmp_path, tiny_data, custom_module_dir, capsys):
    from tadet.apis import run_cli
    cfg = write_cfg(tmp_path, tiny_data)
    work = tmp_path / 'w'
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work), '--cfg-options',
                                     f'train_dataloader.dataset.feature_root={tmp_path}/none'])
    assert code == 2 and 'feature file' in capsys.readouterr().err
    assert not work.exists()
    # an existing work dir keeps what it had
    work.mkdir()
    (work / 'keep.txt').write_text('x')
    code = run_cli(train_tool.main, [cfg, '--work-dir', str(work), '--cfg-options',
                                     'model.hiden=3'])
    assert code == 2 and sorted(p.name for p in work.iterdir()) == ['keep.txt']


def _amp_train_and_test(tmp_path, data, expected_wrapper):
    import torch
    from mmengine.config import Config
    cfg = write_cfg(tmp_path, data, epochs=2)
    work = str(tmp_path / 'amp')
    assert train_tool.main([cfg, '--work-dir', work, '--amp']) == 0
    dumped = Config.fromfile(osp.join(work, 'tiny_cfg.py'))
    assert dumped.optim_wrapper.type == expected_wrapper
    state = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())
    out = str(tmp_path / 'preds.json')
    assert test_tool.main([cfg, osp.join(work, 'epoch_2.pth'), '--out', out,
                           '--work-dir', work]) == 0
    assert set(json.load(open(out))['results']) == {'test_video_0', 'test_video_1'}


def test_amp_flag_trains_with_bf16_autocast_on_cpu(tmp_path, tiny_data, custom_module_dir,
                                                   monkeypatch):
    """``--amp`` without CUDA: the CPU bf16 autocast wrapper, a finite checkpoint that tests."""
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    _amp_train_and_test(tmp_path, tiny_data, 'CPUAutocastOptimWrapper')


@pytest.mark.cuda
def test_amp_flag_trains_with_fp16_on_cuda(tmp_path, tiny_data, custom_module_dir):
    """``--amp`` with CUDA: mmengine's AmpOptimWrapper (fp16, dynamic loss scale)."""
    import torch
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    _amp_train_and_test(tmp_path, tiny_data, 'AmpOptimWrapper')


def test_cpu_autocast_wrapper_runs_the_forward_in_bf16():
    import torch
    from tadet.engine import CPUAutocastOptimWrapper
    model = torch.nn.Linear(4, 3)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and not torch.is_autocast_enabled('cpu')
