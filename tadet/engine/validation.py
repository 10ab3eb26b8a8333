"""Up-front checks of the runtime parts of a config (hooks, env, randomness, loops).

mmengine builds some of these late or passes their keys on unchecked: a typo in
``default_hooks.checkpoint`` (``intervall=1``) reaches ``Runner.save_checkpoint`` only at the
end of the first epoch (the epoch is lost), ``env_cfg.cudnn_benchmarks`` is silently ignored,
``train_cfg.max_epochs='abc'`` fails inside the loop. :func:`check_runtime_cfg` checks every
key against the signature of what will receive it before anything is built or written, and
raises one :class:`ConfigKeyError` naming the key (``default_hooks.checkpoint.intervall``).
"""
import difflib
import inspect
from typing import Any, Callable, Iterable, Optional, Set

from mmengine.config import Config


class ConfigKeyError(KeyError):
    """A config key that nothing reads, or a value it cannot take; the message names the key."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ''


def _named(fn: Callable, drop: Iterable[str] = ()) -> Set[str]:
    """Names of the arguments of ``fn`` that can be given by keyword."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {n for n, p in inspect.signature(fn).parameters.items()
            if p.kind in kinds} - {'self'} - set(drop)


def _accepted(fn: Callable, drop: Iterable[str] = ()) -> Optional[Set[str]]:
    """Keyword arguments ``fn`` accepts, or ``None`` if it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return _named(fn, drop)


def _check_keys(path: str, given: Iterable[str], accepted: Set[str], owner: str) -> None:
    for key in given:
        if key in accepted:
            continue
        close = difflib.get_close_matches(key, sorted(accepted), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ''
        raise ConfigKeyError(
            f'{path}.{key}: unknown key{hint}; {owner} accepts: '
            f'{", ".join(sorted(accepted)) or "no keys"}. Fix or remove it.')


def _hook_accepted(cls: type) -> Optional[Set[str]]:
    accepted = _accepted(cls.__init__)
    if accepted is not None:
        return accepted
    from mmengine.hooks import CheckpointHook
    if issubclass(cls, CheckpointHook):
        # CheckpointHook hands its **kwargs to Runner.save_checkpoint, after the arguments it
        # passes itself: any further key fails there, at the end of the first epoch
        from mmengine.runner import Runner
        passed = {'out_dir', 'filename', 'file_client_args', 'save_optimizer',
                  'save_param_scheduler', 'meta', 'by_epoch', 'backend_args'}
        return _named(cls.__init__) | (_named(Runner.save_checkpoint) - passed)
    return None  # a hook that takes **kwargs: its own business


def _check_hook(path: str, hook_cfg: Any) -> None:
    if hook_cfg is None or not isinstance(hook_cfg, dict):
        return  # None disables a default hook; an instance was built by the caller
    from tadet.registry import HOOKS
    hook_type = hook_cfg.get('type')
    if hook_type is None:
        raise ConfigKeyError(f'{path}: no type (e.g. {path}.type=\'CheckpointHook\')')
    if not isinstance(hook_type, str):
        cls = hook_type
    else:
        cls = HOOKS.get(hook_type)
        if cls is None:
            raise ConfigKeyError(f'{path}.type: {hook_type!r} is not a registered hook '
                                 f'(custom hooks need custom_imports)')
    if not inspect.isclass(cls):
        return
    accepted = _hook_accepted(cls)
    if accepted is not None:
        # 'priority' is taken by Runner.register_hook, '_scope_' by the registry
        _check_keys(path, [k for k in hook_cfg if k not in ('type', 'priority', '_scope_')],
                    accepted, cls.__name__)


def _check_positive_int(path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigKeyError(f'{path}={value!r}: must be a whole number >= 1')


def type_name(t: Any) -> str:
    """Class name of a config ``type`` (a registry name, scoped or dotted, or a class):
    ``'mmengine.LoggerHook'`` / ``LoggerHook`` -> ``'LoggerHook'``."""
    return (t if isinstance(t, str) else getattr(t, '__name__', str(t))).split('.')[-1]


def train_loop_type(train_cfg: Any) -> Any:
    """The train loop mmengine's ``Runner.build_train_loop`` builds from ``train_cfg``: its
    ``type`` (a registry name or a class) when set, else ``'EpochBasedTrainLoop'`` when
    ``by_epoch`` is truthy and ``'IterBasedTrainLoop'`` when it is set and falsy; None when
    ``train_cfg`` is not a dict or has neither key (mmengine cannot build that loop)."""
    if not isinstance(train_cfg, dict):
        return None
    if train_cfg.get('type') is not None:
        return train_cfg['type']
    if 'by_epoch' in train_cfg:
        return 'EpochBasedTrainLoop' if train_cfg['by_epoch'] else 'IterBasedTrainLoop'
    return None


def is_iter_based(train_cfg: Any) -> bool:
    """Whether ``train_cfg`` builds an iteration-based train loop (:func:`train_loop_type` is
    ``IterBasedTrainLoop`` or a subclass of it); False when it builds none."""
    from mmengine.runner import IterBasedTrainLoop

    from tadet.registry import LOOPS
    loop_type = train_loop_type(train_cfg)
    if loop_type is None:
        return False
    cls = LOOPS.get(loop_type) if isinstance(loop_type, str) else loop_type
    if inspect.isclass(cls):
        return issubclass(cls, IterBasedTrainLoop)
    return type_name(loop_type) == 'IterBasedTrainLoop'


def _check_loop(name: str, loop_cfg: Any, train: bool) -> None:
    if not isinstance(loop_cfg, dict):
        return
    from tadet.registry import LOOPS
    keys = {k: v for k, v in loop_cfg.items() if k != '_scope_'}
    loop_type = keys.pop('type', None)
    if loop_type is None:
        if not train:
            return
        loop_type = train_loop_type(loop_cfg)
        if loop_type is None:
            # mmengine would fail later with a bare KeyError('by_epoch')
            raise ConfigKeyError(f'{name}: sets neither type nor by_epoch, so no train loop '
                                 f'can be built; add type=\'EpochBasedTrainLoop\' (or '
                                 f'\'IterBasedTrainLoop\'), or by_epoch=True / False')
        keys.pop('by_epoch')
    cls = LOOPS.get(loop_type) if isinstance(loop_type, str) else loop_type
    if cls is None or not inspect.isclass(cls):
        return  # mmengine reports an unknown type itself, before anything runs
    accepted = _accepted(cls.__init__, drop=('runner', 'dataloader', 'evaluator'))
    if accepted is not None:
        _check_keys(name, keys, accepted, cls.__name__)
    for key in ('max_epochs', 'max_iters', 'val_interval'):
        if key in keys:
            _check_positive_int(f'{name}.{key}', keys[key])
    if 'val_begin' in keys and (isinstance(keys['val_begin'], bool)
                                or not isinstance(keys['val_begin'], int)):
        raise ConfigKeyError(f'{name}.val_begin={keys["val_begin"]!r}: must be a whole number')


def check_runtime_cfg(cfg: Config, mode: str = 'train') -> None:
    """Check ``default_hooks``, ``custom_hooks``, ``env_cfg``, ``randomness``,
    ``log_processor`` and the loops (``train_cfg`` only when ``mode == 'train'``) key by key;
    raise :class:`ConfigKeyError` naming the first bad key."""
    import torch.distributed as torch_dist
    from mmengine.dist import init_dist
    from mmengine.runner import LogProcessor, Runner
    from mmengine.utils.dl_utils import set_multi_processing

    default_hooks = cfg.get('default_hooks') or {}
    for name, hook_cfg in default_hooks.items():
        _check_hook(f'default_hooks.{name}', hook_cfg)
    for i, hook_cfg in enumerate(cfg.get('custom_hooks') or []):
        _check_hook(f'custom_hooks[{i}]', hook_cfg)

    env_cfg = cfg.get('env_cfg') or {}
    _check_keys('env_cfg', env_cfg, {'cudnn_benchmark', 'mp_cfg', 'dist_cfg',
                                     'resource_limit'}, 'Runner.setup_env')
    if isinstance(env_cfg.get('mp_cfg'), dict):
        _check_keys('env_cfg.mp_cfg', env_cfg['mp_cfg'],
                    _accepted(set_multi_processing, drop=('distributed',)),
                    'set_multi_processing')
    if isinstance(env_cfg.get('dist_cfg'), dict):
        dist_keys = (_accepted(init_dist.__wrapped__ if hasattr(init_dist, '__wrapped__')
                               else init_dist, drop=('launcher',)) or {'backend',
                                                                       'init_backend'})
        dist_keys |= _accepted(torch_dist.init_process_group) or set()
        _check_keys('env_cfg.dist_cfg', env_cfg['dist_cfg'], dist_keys - {'rank', 'world_size'},
                    'init_dist / torch.distributed.init_process_group')

    randomness = cfg.get('randomness')
    if isinstance(randomness, dict):
        _check_keys('randomness', randomness, _accepted(Runner.set_randomness),
                    'Runner.set_randomness')
    log_processor = cfg.get('log_processor')
    if isinstance(log_processor, dict) and log_processor.get('type', 'LogProcessor') in (
            'LogProcessor', 'mmengine.LogProcessor', 'TADLogProcessor', 'tadet.LogProcessor',
            'tadet.TADLogProcessor'):
        _check_keys('log_processor', [k for k in log_processor if k != 'type'],
                    _accepted(LogProcessor.__init__), 'LogProcessor')

    if mode == 'train':
        _check_loop('train_cfg', cfg.get('train_cfg'), train=True)
        _check_loop('val_cfg', cfg.get('val_cfg'), train=False)
    else:
        _check_loop('test_cfg', cfg.get('test_cfg'), train=False)
