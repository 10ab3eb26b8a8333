"""Version-specific fixes, all in one place. Applied once when :mod:`tadet` is imported.

1. mmaction2 1.2.0's wheel lacks ``mmaction/models/localizers/drn`` while its
   ``localizers/__init__`` imports it, so ``import mmaction.models`` (and any registry lookup of
   an ``mmaction`` model such as ``ResNet3d``) fails. We register an empty placeholder package
   for it; the DRN localizer itself stays unavailable (tadet never uses it).
2. torch >= 2.6 defaults ``torch.load(weights_only=True)``; mmengine 0.10.7 checkpoints hold
   optimizer/message-hub objects, so resume fails. We register a local-file checkpoint loader
   that passes ``weights_only=False`` and turns unreadable files into a clear error.
3. mmengine writes checkpoints straight to their final path, so a run killed while saving
   leaves a truncated ``epoch_N.pth`` that ``--resume`` then picks up. We make local saves
   atomic: write ``NAME.tmp-PID``, fsync, rename over ``NAME``.
4. mmengine's PyTorch / Slurm launchers call ``torch.cuda.set_device`` unconditionally, so
   distributed runs on CPU-only machines (gloo) crash. Without CUDA we skip that call.
5. mmaction2's ``mmaction::`` base configs need ``pkg_resources``; tadet ships its own base
   configs under ``configs/_base_`` instead (nothing to patch, noted here for completeness).
"""
import importlib.util
import io
import os
import os.path as osp
import sys
import types
import warnings
from typing import Any, Optional

import torch

APPLIED: dict = {}


class CheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be used."""


def _fix_mmaction_drn() -> bool:
    """Install a placeholder for the missing ``mmaction.models.localizers.drn`` package."""
    name = 'mmaction.models.localizers.drn'
    # look for the folder without importing mmaction.models (find_spec on a dotted name
    # would import the parent packages, the slow part of mmaction)
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    drn_dir = osp.join(list(spec.submodule_search_locations)[0], 'models', 'localizers', 'drn')
    if osp.isdir(drn_dir) or name in sys.modules:
        return False
    pkg = types.ModuleType(name)
    pkg.__path__ = []  # a package, so ``drn.drn`` can be a submodule
    sub = types.ModuleType(name + '.drn')

    class DRN:  # noqa: D401
        """Placeholder: the mmaction2 1.2.0 wheel does not ship the DRN localizer."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError('mmaction2 1.2.0 wheel does not ship DRN (localizers/drn missing)')

    sub.DRN = DRN
    pkg.drn = sub
    sys.modules[name] = pkg
    sys.modules[name + '.drn'] = sub
    return True


def load_checkpoint_file(filename: str, map_location: Optional[str] = None) -> dict:
    """``torch.load`` a local checkpoint with ``weights_only=False`` and clear errors."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint not found: {filename}. Check the path (tools/train.py writes '
            f'checkpoints to WORK_DIR/epoch_N.pth and WORK_DIR/last_checkpoint).')
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except Exception as e:  # torch raises many kinds on a truncated/corrupt file
        raise CheckpointError(
            f'Checkpoint {filename} could not be read ({type(e).__name__}: {e}). The file is '
            f'truncated or not a PyTorch checkpoint: delete it and resume from an earlier '
            f'epoch_N.pth, or re-download it.') from e


def _register_checkpoint_loader() -> bool:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
    return True


def atomic_save_checkpoint(checkpoint: dict, filename: str, file_client_args=None,
                           backend_args=None) -> None:
    """``mmengine.runner.save_checkpoint`` whose local writes are all-or-nothing."""
    if '://' in str(filename) or file_client_args is not None or backend_args is not None:
        return _ORIGINAL_SAVE['save_checkpoint'](checkpoint, filename, file_client_args,
                                                 backend_args)
    filename = osp.abspath(osp.expanduser(filename))
    os.makedirs(osp.dirname(filename), exist_ok=True)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    tmp = f'{filename}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(buf.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except OSError as e:
        if e.filename is None and e.errno is not None:
            # a failed write() names no file ("[Errno 27] File too large", disk full)
            raise OSError(e.errno, f'{e.strerror} (writing checkpoint {filename})',
                          filename) from e
        raise
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


_ORIGINAL_SAVE: dict = {}


def _make_checkpoint_saves_atomic() -> bool:
    import mmengine.runner as runner_pkg
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.runner.runner as runner_mod
    if not _ORIGINAL_SAVE:
        _ORIGINAL_SAVE['save_checkpoint'] = ckpt_mod.save_checkpoint
    # Runner.save_checkpoint uses runner.py's global; CheckpointHook imports it from the package
    runner_mod.save_checkpoint = atomic_save_checkpoint
    runner_pkg.save_checkpoint = atomic_save_checkpoint
    return True


def _cpu_safe_dist_init(fn):
    def init_without_cuda_device(*args: Any, **kwargs: Any):
        if torch.cuda.is_available():
            return fn(*args, **kwargs)
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda *a, **k: None  # no device to bind on a CPU machine
        try:
            return fn(*args, **kwargs)
        finally:
            torch.cuda.set_device = set_device
    init_without_cuda_device.__wrapped__ = fn
    return init_without_cuda_device


def _allow_cpu_distributed() -> bool:
    import mmengine.dist.utils as dist_utils
    for name in ('_init_dist_pytorch', '_init_dist_slurm'):
        fn = getattr(dist_utils, name)
        if not hasattr(fn, '__wrapped__'):
            setattr(dist_utils, name, _cpu_safe_dist_init(fn))
    return True


def apply() -> dict:
    """Apply all fixes (idempotent). Returns which fixes changed something."""
    if not APPLIED:
        # mmcv-lite has no compiled ops; mmaction2 imports a transformer brick that warns
        # about it on every import although tadet never uses that brick.
        warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
        APPLIED['mmaction_drn_placeholder'] = _fix_mmaction_drn()
        APPLIED['checkpoint_weights_only_false'] = _register_checkpoint_loader()
        APPLIED['atomic_checkpoint_save'] = _make_checkpoint_saves_atomic()
        APPLIED['cpu_distributed_launch'] = _allow_cpu_distributed()
    return APPLIED


apply()
