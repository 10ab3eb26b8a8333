"""Lazy loading of the compiled extension ``tadet._ext`` and ``impl`` selection."""
import importlib
import threading
import warnings
from typing import Optional

import torch

IMPLS = ('auto', 'compiled', 'reference')
BUILD_HINT = ('build it with `pip install --no-build-isolation -e .` (or '
              '`python setup.py build_ext --inplace`) in the tadet checkout; see docs/ops.md')

_lock = threading.Lock()
_state = {'loaded': False, 'ext': None, 'error': None, 'warned': set()}


def load_ext() -> Optional[object]:
    """Import ``tadet._ext`` once; return the module or ``None`` if it is not built."""
    if not _state['loaded']:
        with _lock:
            if not _state['loaded']:
                try:
                    _state['ext'] = importlib.import_module('tadet._ext')
                except ImportError as e:  # not built, or built against another torch
                    _state['error'] = e
                _state['loaded'] = True
    return _state['ext']


def available() -> dict:
    """Which implementations can run: ``{'cpu': bool, 'cuda': bool, 'reference': True}``."""
    ext = load_ext()
    cuda = bool(ext is not None and ext.has_cuda())
    return {'cpu': ext is not None, 'cuda': cuda, 'reference': True}


def _warn_once(key: str, msg: str) -> None:
    if key not in _state['warned']:
        _state['warned'].add(key)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)


def resolve(impl: str, device: torch.device, op: str) -> Optional[object]:
    """Return the extension module to use, or ``None`` for the pure-torch reference.

    ``auto``: compiled CUDA kernels for CUDA tensors, compiled C++ kernels for CPU tensors, the
    reference (with one warning per process) when the needed kernels are not built.
    ``compiled``: like auto, but raises instead of falling back. ``reference``: pure torch.
    """
    if impl not in IMPLS:
        raise ValueError(f'{op}: impl must be one of {IMPLS}, got {impl!r}')
    if impl == 'reference':
        return None
    ext = load_ext()
    is_cuda = device.type == 'cuda'
    if ext is None:
        if impl == 'compiled':
            raise RuntimeError(f'{op}(impl="compiled"): the tadet._ext extension is not built '
                               f'({_state["error"]}); {BUILD_HINT}')
        _warn_once('noext', f'tadet.ops: compiled extension tadet._ext not available '
                   f'({_state["error"]}); using the slower pure-torch reference ops. '
                   f'To get the compiled ops, {BUILD_HINT}')
        return None
    if is_cuda and not ext.has_cuda():
        if impl == 'compiled':
            raise RuntimeError(f'{op}(impl="compiled"): tadet._ext was built without CUDA; '
                               f'rebuild on a machine with CUDA (or FORCE_CUDA=1): {BUILD_HINT}')
        _warn_once('nocuda', 'tadet.ops: tadet._ext was built without CUDA kernels; CUDA '
                   'tensors use the pure-torch reference ops')
        return None
    if device.type not in ('cpu', 'cuda'):
        if impl == 'compiled':
            raise RuntimeError(f'{op}(impl="compiled"): no compiled kernel for device '
                               f'{device.type}')
        return None
    return ext


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Kernels run in float32/float64; half and bfloat16 are computed in float32."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32
