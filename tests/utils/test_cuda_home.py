"""The ops build finds the CUDA toolkit root behind a linked or wrapped nvcc (issue 17)."""
import os
import stat

import pytest

from tadet.utils import cuda_home


def _toolkit(root):
    (root / 'include').mkdir(parents=True)
    (root / 'include' / 'cuda_runtime_api.h').write_text('')
    (root / 'bin').mkdir()
    nvcc = root / 'bin' / 'nvcc'
    # a real nvcc's dry run names its own directory
    nvcc.write_text(f'#!/bin/sh\necho "#$ _HERE_={root}/bin" >&2\necho "#$ TOP={root}/bin/.." >&2\n')
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)
    return nvcc


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv('CUDA_HOME', raising=False)
    monkeypatch.delenv('CUDA_PATH', raising=False)
    monkeypatch.setattr(cuda_home.glob, 'glob', lambda pattern: [])


def test_wrapper_script_nvcc(tmp_path, monkeypatch, no_env):
    real = _toolkit(tmp_path / 'cuda-13.0')
    bin_dir = tmp_path / 'usr' / 'local' / 'bin'
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / 'nvcc'
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', str(bin_dir))
    # torch's guess would be dirname(dirname(wrapper)) = .../usr/local: no headers there
    assert not cuda_home.is_cuda_root(str(tmp_path / 'usr' / 'local'))
    assert cuda_home.find_cuda_home() == str(tmp_path / 'cuda-13.0')


def test_symlinked_nvcc(tmp_path, monkeypatch, no_env):
    real = _toolkit(tmp_path / 'cuda')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    os.symlink(real, bin_dir / 'nvcc')
    monkeypatch.setenv('PATH', str(bin_dir))
    assert cuda_home.find_cuda_home() == str(tmp_path / 'cuda')


def test_environment_wins_and_nothing_found(tmp_path, monkeypatch, no_env):
    monkeypatch.setenv('PATH', str(tmp_path))  # no nvcc
    assert cuda_home.find_cuda_home() is None
    monkeypatch.setenv('CUDA_HOME', '/opt/my-cuda')
    assert cuda_home.find_cuda_home() == '/opt/my-cuda'
