"""Two-process DDP (gloo, CPU) through tools/dist_train.sh and tools/dist_test.sh (issue 9)."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from tadet_testing import REPO, make_tiny_dataset, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dist_run(script, args, custom_module_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([custom_module_dir, REPO]),
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    return subprocess.run(['bash', osp.join(REPO, 'tools', script)] + args, capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=300)


@pytest.fixture
def odd_data(tmp_path):
    # 5 test videos: DDP's sampler pads 2 ranks to 6 samples by repeating one video, which the
    # metric must not count twice
    return make_tiny_dataset(tmp_path / 'data', num_train=4, num_test=5)


def test_two_process_eval_equals_one_process(tmp_path, odd_data, custom_module_dir):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(tiny_config_text(odd_data, epochs=2))
    work = str(tmp_path / 'train')
    assert train_tool.main([str(cfg), '--work-dir', work]) == 0
    ckpt = osp.join(work, 'epoch_2.pth')

    single = str(tmp_path / 'single.json')
    assert test_tool.main([str(cfg), ckpt, '--out', single, '--work-dir',
                           str(tmp_path / 'w1')]) == 0
    double = str(tmp_path / 'double.json')
    r = dist_run('dist_test.sh', [str(cfg), ckpt, '2', '--out', double, '--work-dir',
                                  str(tmp_path / 'w2')], custom_module_dir, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = json.load(open(single))['results'], json.load(open(double))['results']
    assert sorted(a) == sorted(b) == [f'test_video_{i}' for i in range(5)]
    assert a == b
    # the logged metric of the 2-process run equals the 1-process one
    assert 'tad/mAP' in r.stdout + r.stderr


def test_two_process_training_runs(tmp_path, odd_data, custom_module_dir):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(tiny_config_text(odd_data, epochs=1))
    work = str(tmp_path / 'ddp')
    r = dist_run('dist_train.sh', [str(cfg), '2', '--work-dir', work], custom_module_dir,
                 tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    log = open(next(osp.join(dp, f) for dp, _, fs in os.walk(work) for f in fs
                    if f.endswith('.log'))).read()
    assert 'world_size: 2' in log or 'Distributed launcher: pytorch' in log
