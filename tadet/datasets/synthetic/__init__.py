"""Synthetic snippet features with realistic temporal-action structure (offline stand-in for
pre-extracted I3D/TSN features).

* :mod:`.generator`: the feature model (documented there) and
  :func:`synthesize_video_features` for one video;
* :mod:`.presets`: named datasets (:data:`THUMOS14_SYNTH`) and :func:`resolve_preset`;
* :mod:`.writer`: :func:`make_synthetic_dataset`, the ``.npy`` files and ``meta.json`` of a
  whole annotation file.
"""
from .generator import (DEFAULT_PARAMS, GENERATOR_NAME, SyntheticDataError,
                        synthesize_video_features, synthetic_prototypes)
from .presets import PRESETS, THUMOS14_SYNTH, resolve_preset
from .writer import FORMAT_VERSION, META_FILE, PARTIAL_FILE, make_synthetic_dataset

__all__ = [
    'DEFAULT_PARAMS', 'FORMAT_VERSION', 'GENERATOR_NAME', 'META_FILE', 'PARTIAL_FILE', 'PRESETS',
    'SyntheticDataError', 'THUMOS14_SYNTH', 'make_synthetic_dataset', 'resolve_preset',
    'synthesize_video_features', 'synthetic_prototypes'
]
