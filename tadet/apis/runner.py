"""Building an mmengine Runner from a tadet config (used by tools/train.py and tools/test.py)."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from .cli import load_config


def _set_evaluator_key(cfg: Config, name: str, key: str, value) -> None:
    evaluator = cfg.get(name)
    if evaluator is None:
        raise KeyError(f'config has no {name}; cannot set {key}')
    for ev in (evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]):
        if ev.get('type') in ('TADMetric', 'tadet.TADMetric'):
            ev[key] = value


def prepare_config(config: str, work_dir: Optional[str] = None,
                   cfg_options: Optional[dict] = None, launcher: str = 'none',
                   amp: bool = False, resume: Optional[str] = None,
                   checkpoint: Optional[str] = None, pred_out: Optional[str] = None) -> Config:
    """Apply the command-line options of train/test to a config."""
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    if not torch.cuda.is_available():
        # nccl needs GPUs; CPU-only distributed runs use gloo
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
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


def build_runner(config: str, **kwargs) -> Runner:
    """``Runner.from_cfg`` on :func:`prepare_config`'s result (same keyword arguments)."""
    return Runner.from_cfg(prepare_config(config, **kwargs))
