from .cli import load_config, run_cli
from .inference import inference_detector, init_detector
from .profiling import count_flops, format_profile_table, profile
from .runner import build_runner, prepare_config

__all__ = ['load_config', 'run_cli', 'build_runner', 'prepare_config', 'count_flops',
           'format_profile_table', 'profile', 'init_detector', 'inference_detector']
