"""tadet.apis.profiling and tools/benchmark_models.py on the tiny custom detector."""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import benchmark_models  # noqa: E402


@pytest.fixture
def tiny_cfg(tmp_path, tiny_data, custom_module_dir):
    p = tmp_path / 'tiny_cfg.py'
    p.write_text(tiny_config_text(tiny_data, window=16))
    return str(p)


def tiny_flops(length_windows, window=16, c=8, hidden=16, out=3):
    # TinyTAD: conv(c -> hidden, k3) + conv(hidden -> classes + 1, k3), one MAC per output tap
    return length_windows * window * (c * hidden * 3 + hidden * out * 3)


def test_count_flops_per_window_and_per_video(tiny_cfg):
    from tadet.apis.profiling import count_flops
    one = count_flops(tiny_cfg, 16)
    assert one['in_channels'] == 8 and one['input_shape'] == [1, 8, 16]
    assert one['flops'] == tiny_flops(1)
    assert one['params'] == (8 * 16 * 3 + 16) + (16 * 3 * 3 + 3)
    # a 100-snippet video: windows of 16 every 8 -> starts 0, 8, ..., 80 and the end-aligned 84
    video = count_flops(tiny_cfg, 100, per_video=True)
    assert video['input_shape'] == [12, 8, 16]
    assert video['flops'] == tiny_flops(12)


def test_profile_inference_in_process(tiny_cfg):
    from tadet.apis.profiling import profile
    r = profile(tiny_cfg, 100, isolate=False, repeat=3, warmup=1)
    assert r['length'] == 100 and r['flops'] == tiny_flops(12)
    assert len(r['times_s']) == 3 and r['time_s'] == sorted(r['times_s'])[1]
    assert r['snippets_per_s'] == pytest.approx(100 / r['time_s'])
    assert r['videos_per_s'] == pytest.approx(1 / r['time_s'])
    assert r['peak_mem_mb'] >= 0 and r['mem_method'] in ('VmHWM', 'ru_maxrss')
    assert r['num_detections'] >= 0


def test_profile_rejects_bad_arguments(tiny_cfg):
    from tadet.apis.profiling import profile_inference
    with pytest.raises(ValueError, match='repeat'):
        profile_inference(tiny_cfg, 100, repeat=0)
    with pytest.raises(ValueError, match='length'):
        profile_inference(tiny_cfg, 0)


def test_cpu_peak_sees_an_allocation():
    import numpy as np

    from tadet.apis.profiling import _CpuPeak
    with _CpuPeak() as peak:
        a = np.ones(64 * 2**20 // 8)  # 64 MB, touched
        del a
    if peak.method == 'VmHWM':  # resettable peak counter: the allocation is seen exactly
        assert 60 <= peak.bytes / 2**20 <= 80


def test_benchmark_models_tool_isolated(tiny_cfg, tmp_path, capsys):
    """Two configs (the second twice as wide), one child process per measurement."""
    cfg2 = tmp_path / 'wide.py'
    cfg2.write_text(f"_base_ = [{tiny_cfg!r}]\nmodel = dict(hidden=32)\n")
    out = tmp_path / 'cost.json'
    assert benchmark_models.main([tiny_cfg, str(cfg2), '--lengths', '40', '--repeat', '2',
                                  '--warmup', '1', '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert 'tiny_cfg' in text and 'wide' in text and '(x1.00)' in text
    res = json.load(open(out))['results']
    assert [r['length'] for r in res] == [40, 40]
    assert res[1]['params'] == (8 * 32 * 3 + 32) + (32 * 3 * 3 + 3)
    ratio = res[1]['flops'] / res[0]['flops']
    assert f'(x{ratio:.2f})' in text and ratio == pytest.approx(2.0)


def test_benchmark_models_tool_errors(tmp_path, capsys):
    from tadet.apis import run_cli
    assert run_cli(benchmark_models.main, [str(tmp_path / 'missing.py')]) == 2
    assert 'missing.py' in capsys.readouterr().err


def test_get_flops_tool_uses_shared_counter(tiny_cfg, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'get_flops', osp.join(REPO, 'tools', 'analysis', 'get_flops.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.count(Config.fromfile(tiny_cfg), 16)['flops'] == tiny_flops(1)
    assert mod.main([tiny_cfg, '--length', '100', '--per-video']) == 0
    assert f'({tiny_flops(12)})' in capsys.readouterr().out
