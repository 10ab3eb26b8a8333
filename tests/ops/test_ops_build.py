"""Build and dispatch: nvcc compiles the raw CUDA kernels; impl selection and fallbacks."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import warnings

import pytest
import torch

import tadet.ops as ops
from tadet.ops import _loader

CSRC = osp.join(osp.dirname(ops.__file__), 'csrc')


@pytest.mark.skipif(shutil.which('nvcc') is None, reason='nvcc not on PATH')
def test_cuda_sources_compile_with_nvcc(tmp_path):
    files = sorted(glob.glob(osp.join(CSRC, 'cuda', '*.cu')))
    assert files, 'no .cu files found'
    for f in files:
        out = tmp_path / (osp.basename(f) + '.o')
        r = subprocess.run(['nvcc', '-c', '-arch=sm_80', '-O2', '-std=c++17', f, '-o', str(out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f'nvcc failed for {f}:\n{r.stdout}\n{r.stderr}'
        assert out.exists()


def test_available():
    avail = ops.available()
    assert set(avail) == {'cpu', 'cuda', 'reference'}
    assert avail['reference'] is True
    assert isinstance(avail['cpu'], bool) and isinstance(avail['cuda'], bool)


def test_bad_impl():
    with pytest.raises(ValueError, match='impl'):
        ops.boundary_max_pool_1d(torch.zeros(1, 2, 3), torch.zeros(1, 1, 4), impl='fast')


def test_fallback_without_extension(monkeypatch):
    fake = {'loaded': True, 'ext': None, 'error': ImportError('not built'), 'warned': set()}
    monkeypatch.setattr(_loader, '_state', fake)
    assert ops.available() == {'cpu': False, 'cuda': False, 'reference': True}
    x = torch.randn(1, 4, 10)
    seg = torch.tensor([[[0., 3., 5., 9.]]])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        a = ops.boundary_max_pool_1d(x, seg)
        ops.roi_align_1d(x, torch.tensor([[0., 1., 4.]]), 3)
        ops.nms_1d(torch.tensor([[0., 1.]]), torch.tensor([1.]), 0.5)
    assert sum('pure-torch reference' in str(m.message) for m in w) == 1
    torch.testing.assert_close(a, ops.boundary_max_pool_1d(x, seg, impl='reference'))
    for call in (lambda: ops.boundary_max_pool_1d(x, seg, impl='compiled'),
                 lambda: ops.roi_align_1d(x, torch.zeros(1, 3), 2, impl='compiled'),
                 lambda: ops.batched_nms_1d(torch.zeros(1, 2), torch.ones(1),
                                            torch.zeros(1, dtype=torch.long), {},
                                            impl='compiled')):
        with pytest.raises(RuntimeError, match='pip install --no-build-isolation -e .'):
            call()


def test_import_lazy_and_without_extension():
    """`import tadet.ops` does not load tadet._ext; with the extension blocked everything still
    imports, available() says so and `auto` warns once and uses the reference."""
    code = ('import sys, warnings, torch, tadet, tadet.ops as o\n'
            'assert "tadet._ext" not in sys.modules, "extension imported eagerly"\n'
            'sys.modules["tadet._ext"] = None  # make the import fail like a missing build\n'
            'assert o.available()["cpu"] is False\n'
            'with warnings.catch_warnings(record=True) as w:\n'
            '    warnings.simplefilter("always")\n'
            '    o.nms_1d(torch.zeros(2, 2), torch.ones(2), 0.5)\n'
            '    o.roi_align_1d(torch.zeros(1, 2, 3), torch.zeros(1, 3), 2)\n'
            'assert len(w) == 1, w\n'
            'print("ok")\n')
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(ops.__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env,
                       cwd=root, timeout=120)
    assert r.returncode == 0 and 'ok' in r.stdout, r.stderr


def test_compiled_is_used_for_cpu(ext):
    assert ops.available()['cpu'] is True
    x = torch.randn(1, 2, 5, requires_grad=True)
    out = ops.boundary_max_pool_1d(x, torch.tensor([[[0., 4., 0., 4.]]]), impl='auto')
    assert 'BoundaryMaxPool1dFunction' in type(out.grad_fn).__name__
