"""Shared fixtures: tiny ActivityNet-format datasets with random features, made per test."""
import shutil
import sys

import pytest

from tadet_testing import FIXTURES, forget_module, make_tiny_dataset


@pytest.fixture
def tiny_data(tmp_path):
    return make_tiny_dataset(tmp_path / 'data')


@pytest.fixture
def custom_module_dir(tmp_path):
    """A directory outside the package holding ``tiny_tad.py``, put on sys.path."""
    d = tmp_path / 'custom'
    d.mkdir()
    shutil.copy(f'{FIXTURES}/tiny_tad.py', d / 'tiny_tad.py')
    sys.path.insert(0, str(d))
    yield str(d)
    sys.path.remove(str(d))
    forget_module('tiny_tad')  # the next test imports it afresh




@pytest.fixture(autouse=True)
def _rebind_closed_log_streams():
    """mmengine loggers outlive a test and keep the (then closed) capture stream of the test
    that made them; mmengine logs through the latest one while a new Runner starts. Point
    such handlers at the current stdout (a CLI run has one logger per process, so this only
    concerns tests)."""
    import logging

    from mmengine.logging import MMLogger
    for logger in list(MMLogger._instance_dict.values()):
        for h in logger.handlers:
            if isinstance(h, logging.StreamHandler) and getattr(h.stream, 'closed', False):
                h.stream = sys.stdout  # setStream would flush the closed stream
    yield
