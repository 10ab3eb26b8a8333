"""Config helpers shared by :mod:`tadet.apis.inference` and :mod:`tadet.apis.profiling`.

Kept apart so that neither of those modules imports the other for them (profiling builds its
models through ``inference.init_detector``; inference only needs these helpers).
"""
from typing import Optional, Union

from mmengine.config import Config

from .cli import load_config


def as_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """A copy of ``config`` (or the config file it names, see :func:`load_config`) with
    ``cfg_options`` merged in."""
    if isinstance(config, Config):
        cfg = config.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        return cfg
    return load_config(config, cfg_options)


def input_channels(cfg: Config) -> int:
    """Feature channels a config's model reads: ``feat_dim`` or the first ``in_channels``."""
    if cfg.get('feat_dim') is not None:
        return int(cfg.feat_dim)

    def find(d):
        if isinstance(d, dict):
            if 'in_channels' in d and isinstance(d['in_channels'], int):
                return d['in_channels']
            for v in d.values():
                r = find(v)
                if r is not None:
                    return r
        return None
    found = find(cfg.model)
    if found is None:
        raise ValueError('cannot infer the input channels of the model; pass in_channels')
    return int(found)
