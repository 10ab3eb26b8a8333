from . import (backbones, dense_heads, detectors, layers, losses, necks,  # noqa: F401
               post_processing, roi_heads, task_modules)
from .data_preprocessor import TADDataPreprocessor
from .detectors import BaseTADDetector

__all__ = ['TADDataPreprocessor', 'BaseTADDetector']
