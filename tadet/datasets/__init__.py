from . import transforms  # noqa: F401  (registers transforms)
from .annotations import AnnotationError, load_annotation_file, load_class_map
from .tad_dataset import ActivityNetDataset, TADDataset, Thumos14Dataset
from .frames_dataset import FramesDataset  # noqa: F401
from .video_info import load_video_info
from .windows import SlidingWindow, crop_segments

__all__ = ['AnnotationError', 'load_annotation_file', 'load_class_map', 'load_video_info',
           'TADDataset', 'Thumos14Dataset', 'ActivityNetDataset', 'SlidingWindow',
           'crop_segments']
