"""Building an mmengine Runner from a tadet config (used by tools/train.py and tools/test.py)."""
import os
import os.path as osp
import shutil
import sys
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tadet.engine.validation import is_iter_based as loop_is_iter_based
from tadet.engine.validation import type_name

from .cli import load_config


def _set_evaluator_key(cfg: Config, name: str, key: str, value) -> None:
    evaluator = cfg.get(name)
    if evaluator is None:
        raise KeyError(f'config has no {name}; cannot set {key}')
    for ev in (evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]):
        if ev.get('type') in ('TADMetric', 'tadet.TADMetric'):
            ev[key] = value


def is_iter_based(cfg: Config) -> bool:
    """Whether ``cfg`` trains with an iteration-based loop
    (:func:`tadet.engine.validation.is_iter_based` of its ``train_cfg``)."""
    return loop_is_iter_based(cfg.get('train_cfg'))


def prepare_config(config: str, work_dir: Optional[str] = None,
                   cfg_options: Optional[dict] = None, launcher: str = 'none',
                   amp: bool = False, resume: Optional[str] = None,
                   checkpoint: Optional[str] = None, pred_out: Optional[str] = None) -> Config:
    """Apply the command-line options of train/test to a config."""
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if cfg.get('experiment_name') is None:
        # mmengine names its logger/visualizer instances CONFIG_TIMESTAMP and reuses an
        # existing one of that name: two runs started in the same second in one process (the
        # benchmark, tests) would share (and write into) the first run's log folder
        # (mmengine appends the timestamp to the name)
        cfg.experiment_name = f'{osp.splitext(osp.basename(config))[0]}_{uuid.uuid4().hex[:6]}'
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    logger = (cfg.get('default_hooks') or {}).get('logger')
    if (is_iter_based(cfg) and isinstance(logger, dict)
            and type_name(logger.get('type', '')) == 'LoggerHook'):
        # LoggerHook logs validation metrics at runner.epoch by default, always 0 in an
        # iteration-based loop (every validation on step 0 of the scalar logs): use the iteration
        logger.setdefault('log_metric_by_epoch', False)
    if not torch.cuda.is_available():
        # nccl needs GPUs; CPU-only distributed runs use gloo
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        if launcher != 'none':
            # mmengine passes device_ids=[LOCAL_RANK] to DDP, which CPU modules reject
            wrapper = cfg.get('model_wrapper_cfg') or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))
            wrapper['device_ids'] = None
            cfg.model_wrapper_cfg = wrapper
    if amp:
        optim = cfg.optim_wrapper
        if torch.cuda.is_available():
            optim.type = 'AmpOptimWrapper'
            optim.setdefault('loss_scale', 'dynamic')
        else:
            optim.type = 'CPUAutocastOptimWrapper'
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        cfg.load_from = checkpoint
    if pred_out is not None:
        _set_evaluator_key(cfg, 'test_evaluator', 'out_file', pred_out)
    return cfg


_KEEP_ON_FAILURE = ('.pth', 'last_checkpoint')
_BACKUP_MAX_BYTES = 64 << 20


def _is_checkpoint(name: str) -> bool:
    return name.endswith('.pth') or name == 'last_checkpoint'


@contextmanager
def outputs_removed_on_failure(work_dir: str) -> Iterator[None]:
    """Undo what a failed run did to ``work_dir``: remove what it wrote (log folders, dumped
    config, prediction files) and restore the files of a previous run it overwrote (the dumped
    config ``CONFIG.py``, result files), so the work dir's config still matches its
    checkpoints. Checkpoints (``*.pth``, ``last_checkpoint``) are kept: they are complete
    (written before they are announced) and resumable. The work dir goes too if this run
    created it and nothing is left in it."""
    existed = osp.isdir(work_dir)
    before = set(os.listdir(work_dir)) if existed else set()
    saved = {}
    for name in before:
        path = osp.join(work_dir, name)
        if _is_checkpoint(name) or not osp.isfile(path) or osp.islink(path):
            continue
        try:
            st = os.stat(path)
            if st.st_size <= _BACKUP_MAX_BYTES:
                with open(path, 'rb') as f:
                    saved[name] = (f.read(), st.st_atime_ns, st.st_mtime_ns, st.st_mode)
        except OSError:
            pass
    try:
        yield
    except BaseException:
        if osp.isdir(work_dir):
            for name in set(os.listdir(work_dir)) - before:
                path = osp.join(work_dir, name)
                if _is_checkpoint(name):
                    continue
                shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
            for name, (data, atime, mtime, mode) in saved.items():
                path = osp.join(work_dir, name)
                try:
                    if osp.isfile(path):
                        with open(path, 'rb') as f:
                            if f.read() == data:
                                continue
                    with open(path, 'wb') as f:
                        f.write(data)
                    os.chmod(path, mode & 0o7777)
                    os.utime(path, ns=(atime, mtime))
                except OSError:
                    pass  # best effort: the original error matters more
            if not existed and not os.listdir(work_dir):
                os.rmdir(work_dir)
        raise


def _evaluator_outputs(cfg: Config, action: str) -> Iterator[str]:
    """Files the run's TADMetric(s) will write (``out_file``, ``out_result``)."""
    evaluator = cfg.get('test_evaluator' if action == 'test' else 'val_evaluator')
    for ev in (evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]):
        if isinstance(ev, dict):
            for key in ('out_file', 'out_result'):
                if isinstance(ev.get(key), str):
                    yield ev[key]


def _is_main_process() -> bool:
    return os.environ.get('RANK', '0') in ('', '0')


def clean_stale_temporaries(cfg: Config, action: str) -> list:
    """Remove the temporaries killed runs left in the work dir and next to the prediction files
    (see :mod:`tadet.utils.stale_files`); only the main process does it."""
    from tadet.utils.stale_files import remove_stale_temporaries
    if not _is_main_process():
        return []
    removed = remove_stale_temporaries(cfg.work_dir)
    for out in _evaluator_outputs(cfg, action):
        folder = osp.dirname(osp.abspath(out))
        if osp.abspath(folder) != osp.abspath(cfg.work_dir):
            removed += remove_stale_temporaries(folder, names=[osp.basename(out)])
    return removed


def resume_without_checkpoint(cfg: Config, action: str) -> bool:
    """True when ``--resume`` (auto) finds no checkpoint to resume from in the work dir."""
    if action != 'train' or not cfg.get('resume') or cfg.get('load_from'):
        return False
    from mmengine.runner import find_latest_checkpoint
    return find_latest_checkpoint(cfg.work_dir) is None


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model built from the config."""


def check_checkpoint_matches_model(model: torch.nn.Module, filename: str,
                                   config: str = 'the config') -> None:
    """Raise :class:`CheckpointMismatchError` unless every model weight is in the checkpoint
    with the same shape and the checkpoint has no weight the model lacks.

    mmengine loads with ``strict=False`` and only logs mismatches, so evaluating a checkpoint
    of another model (or another config of the same model) would silently run on partly random
    weights.
    """
    from mmengine.model import is_model_wrapper

    from tadet.utils.compat import load_checkpoint_file
    ckpt = load_checkpoint_file(filename, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'{filename} holds no state_dict; is it a checkpoint '
                                      f'written by tools/train.py?')
    if is_model_wrapper(model):
        model = model.module
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}'
              for k, v in own.items() if k in state and hasattr(state[k], 'shape')
              and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f'{len(missing)} model weight(s) missing (e.g. {missing[0]})')
        if unexpected:
            parts.append(f'{len(unexpected)} unknown weight(s) (e.g. {unexpected[0]})')
        if shapes:
            parts.append(f'{len(shapes)} shape mismatch(es) (e.g. {shapes[0]})')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        origin = ''
        if isinstance(meta, dict) and meta.get('experiment_name'):
            origin = f' It was written by run {meta["experiment_name"]!r}.'
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit the model of {config}: ' + '; '.join(parts) +
            f'.{origin} Use the config the checkpoint was trained with.')


def run(config: str, action: str, **kwargs) -> dict:
    """Build a Runner from :func:`prepare_config` and run ``action`` (``'train'`` or
    ``'test'``).

    Before anything is written: every runtime key (hooks, ``env_cfg``, loops, ...) is checked
    (:func:`tadet.engine.validation.check_runtime_cfg`) and the stale temporaries of killed runs
    are removed. ``--resume`` with no checkpoint in the work dir says so on stderr (start and
    end) and trains from scratch. A failure leaves no partial output behind and restores what
    it overwrote (see :func:`outputs_removed_on_failure`)."""
    from tadet.engine.validation import check_runtime_cfg
    cfg = prepare_config(config, **kwargs)
    check_runtime_cfg(cfg, action)
    clean_stale_temporaries(cfg, action)
    fresh = resume_without_checkpoint(cfg, action)
    note = (f'warning: --resume: no checkpoint in {cfg.work_dir} (no last_checkpoint, no '
            f'epoch_N.pth / iter_N.pth), so training starts from scratch')
    if fresh and _is_main_process():
        print(note, file=sys.stderr, flush=True)
    with outputs_removed_on_failure(cfg.work_dir):
        runner = Runner.from_cfg(cfg)
        ckpt = cfg.get('load_from')
        if ckpt is None and cfg.get('resume') and action == 'train':
            from mmengine.runner import find_latest_checkpoint
            ckpt = find_latest_checkpoint(cfg.work_dir)
        if ckpt:
            check_checkpoint_matches_model(runner.model, ckpt, config)
        if fresh:
            runner.logger.warning(note[len('warning: '):])
        result = getattr(runner, action)()
    if fresh and _is_main_process():
        print(note.replace('so training starts', 'so this run trained'), file=sys.stderr,
              flush=True)
    return result


def build_runner(config: str, **kwargs) -> Runner:
    """``Runner.from_cfg`` on :func:`prepare_config`'s result (same keyword arguments)."""
    return Runner.from_cfg(prepare_config(config, **kwargs))
