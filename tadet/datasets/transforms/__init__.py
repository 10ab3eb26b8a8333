from .formatting import PackTADInputs
from .loading import FeatureError, LoadFeatures, feature_length, read_feature_file
from .windowing import PadFeatures, RandomTruncate, ResizeFeatures

__all__ = ['PackTADInputs', 'FeatureError', 'LoadFeatures', 'feature_length',
           'read_feature_file', 'PadFeatures', 'RandomTruncate', 'ResizeFeatures']
from .frames import (CenterCropFrames, LoadFrameWindow, NormalizeFrames,  # noqa: F401
                     PackTADFrames, RandomCropFrames, RandomFlipFrames, ResizeFrames)
