"""Shared command-line plumbing: config loading and one clear message per user error."""
import os
import sys
from typing import Callable, List, Optional

from mmengine.config import Config, DictAction  # noqa: F401  (re-exported for tools)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
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
