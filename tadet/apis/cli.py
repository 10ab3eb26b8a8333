"""Shared command-line plumbing: config loading and one clear message per user error."""
import difflib
import inspect
import os
import re
import sys
from typing import Any, Callable, List, Optional, Set

from mmengine.config import Config
from mmengine.config import DictAction as _MMDictAction


class DictAction(_MMDictAction):
    """mmengine's ``--cfg-options`` parser, with an argparse error naming an option that is
    not ``KEY=VALUE`` (``--cfg-options max_epochs``) instead of a bare unpacking error."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values if isinstance(values, list) else [values]:
            if '=' not in kv or kv.startswith('='):
                parser.error(f'{option_string} {kv}: expected KEY=VALUE, e.g. '
                             f'train_cfg.max_epochs=2')
        super().__call__(parser, namespace, values, option_string)


def runner_config_keys() -> Set[str]:
    """Top-level keys mmengine's Runner (and tadet's tools) read from a config."""
    from mmengine.runner import Runner
    keys = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    return keys | {'custom_imports', 'launcher', 'default_scope', 'randomness', 'env_cfg',
                   'log_level', 'load_from', 'resume', 'vis_backends', 'auto_scale_lr',
                   'work_dir'}


def check_top_level_keys(cfg: Config, path: str) -> None:
    """Reject a top-level key that looks like a misspelt Runner key (``train_dataloder``).

    Configs may define their own top-level variables (``feat_dim``, ``window_size``) for
    interpolation, so only keys within a small edit distance of a Runner key are errors: a
    misspelt key would otherwise be silently ignored and the base config's value used.
    """
    known = runner_config_keys()
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        if close:
            raise KeyError(f'{path}: unknown top-level key {key!r} (did you mean '
                           f'{close[0]!r}?). Rename it; a misspelt key is ignored by the Runner.')


_MISSING = object()


def _lookup(cfg: Any, dotted: str) -> Any:
    node = cfg
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _paths_ending_with(node: Any, leaf: str, prefix: str = '') -> List[str]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            path = f'{prefix}{k}'
            if k == leaf and prefix:
                found.append(path)
            found += _paths_ending_with(v, leaf, path + '.')
    return found


def check_cfg_options(cfg: Config, cfg_options: dict) -> None:
    """Reject ``--cfg-options`` that would be silently ignored or are of the wrong kind.

    - a new top-level key that nothing reads (``max_epochs=3`` where the loop reads
      ``train_cfg.max_epochs``); the message lists the keys of that name deeper in the config;
    - a value that is not a number where the config has a number (``train_cfg.max_epochs=abc``).
    """
    from tadet.engine.validation import ConfigKeyError
    known = runner_config_keys()
    for key, value in cfg_options.items():
        top = key.split('.')[0]
        if top not in cfg and top not in known:
            leaf = key.split('.')[-1]
            where = _paths_ending_with(cfg._cfg_dict, leaf)
            hint = f' Did you mean {", ".join(where[:3])}?' if where else ''
            raise ConfigKeyError(f'--cfg-options {key}={value!r}: the config has no key {top!r} '
                                 f'and the Runner reads none, so it would be ignored.{hint}')
        old = _lookup(cfg._cfg_dict, key)
        if (old is not _MISSING and isinstance(old, (int, float)) and not isinstance(old, bool)
                and isinstance(value, str)):
            raise ConfigKeyError(f'--cfg-options {key}={value!r}: expected a number (the config '
                                 f'has {key}={old!r})')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, apply ``--cfg-options`` overrides, check top-level keys."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_top_level_keys(cfg, path)
    return cfg


_WORKER_TRACEBACK = re.compile(r'Caught (?P<type>\w+) in (?P<where>DataLoader worker process '
                               r'\d+)\.\s*\nOriginal Traceback \(most recent call last\):\n')


def error_line(e: BaseException) -> str:
    """``<Type>: <message>`` of an exception, on one line. An exception re-raised from a
    data-loader worker carries the worker's whole traceback in its message; only the worker's
    own exception line is kept (``(in DataLoader worker process 0)`` added)."""
    text = str(e)
    name = type(e).__name__
    m = _WORKER_TRACEBACK.search(text)
    if m is not None:
        lines = text[m.end():].splitlines()
        # the exception line(s) follow the last indented (frame / source) line
        last_frame = max((i for i, ln in enumerate(lines) if ln.startswith(' ')), default=-1)
        tail = ' '.join(ln.strip() for ln in lines[last_frame + 1:] if ln.strip())
        name = m.group('type')
        head = re.match(r'^(?:[\w.]+\.)?' + re.escape(name) + r'(?::\s*|$)', tail)
        if head is not None:  # 'pkg.mod.FeatureError: msg' -> 'msg'
            tail = tail[head.end():]
        text = f'{tail} (in {m.group("where")})'
    elif isinstance(e, KeyError) and type(e).__str__ is KeyError.__str__ and len(e.args) == 1:
        text = str(e.args[0])
    return f'{name}: {" ".join(text.split())}'


def run_cli(main: Callable[[Optional[List[str]]], int], argv: Optional[List[str]] = None) -> int:
    """Run ``main`` and turn an exception into one line on stderr (its last line, see
    :func:`error_line`) and exit code 2.

    Set ``TADET_DEBUG=1`` to get the full traceback instead.
    """
    try:
        return main(argv) or 0
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as e:  # user-facing boundary: everything becomes one message
        if os.environ.get('TADET_DEBUG') == '1':
            raise
        sys.stdout.flush()
        # one line, the last on stderr (also for errors raised in data-loader workers)
        print(f'error: {error_line(e)}  (TADET_DEBUG=1 shows the traceback)', file=sys.stderr,
              flush=True)
        return 2
