"""Fixtures and markers for the tadet.ops tests."""
import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line('markers', 'cuda: needs a CUDA device (skipped without one)')


def _ext():
    from tadet.ops import _loader
    return _loader.load_ext()


@pytest.fixture
def ext():
    """The compiled extension; skips the test with a reason when it is not built."""
    mod = _ext()
    if mod is None:
        pytest.skip('tadet._ext is not built: run `pip install --no-build-isolation -e .` '
                    '(make test does this)')
    return mod


@pytest.fixture
def cuda_ext():
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    mod = _ext()
    if mod is None or not mod.has_cuda():
        pytest.skip('tadet._ext was built without CUDA kernels')
    return mod
