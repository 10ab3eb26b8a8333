from .annotations import AnnotationError, load_annotation_file, load_class_map
from .video_info import load_video_info

__all__ = ['AnnotationError', 'load_annotation_file', 'load_class_map', 'load_video_info']
