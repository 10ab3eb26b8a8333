"""Shared command-line plumbing: config loading and one clear message per user error."""
import difflib
import inspect
import os
import sys
from typing import Callable, List, Optional, Set

from mmengine.config import Config, DictAction  # noqa: F401  (re-exported for tools)


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


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, apply ``--cfg-options`` overrides, check top-level keys."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_top_level_keys(cfg, path)
    return cfg


def run_cli(main: Callable[[Optional[List[str]]], int], argv: Optional[List[str]] = None) -> int:
    """Run ``main`` and turn an exception into one line on stderr and exit code 2.

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
        print(f'error: {type(e).__name__}: {e}\n(set TADET_DEBUG=1 for the traceback)',
              file=sys.stderr)
        return 2
