"""Fixtures shared by the model tests (data-sample / feature builders: ``tadet_testing``)."""
import pytest
import torch
from mmengine.registry import init_default_scope


@pytest.fixture(scope='module')
def single_thread():
    """Models are built in the tadet scope; tiny tensors: one intra-op thread is faster and
    avoids OpenMP oversubscription on a busy shared CPU. Use it per module with
    ``pytestmark = pytest.mark.usefixtures('single_thread')``."""
    init_default_scope('tadet')
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
