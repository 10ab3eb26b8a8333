from .cli import load_config, run_cli
from .runner import build_runner, prepare_config

__all__ = ['load_config', 'run_cli', 'build_runner', 'prepare_config']
