from .data_sample import TADDataSample
from .geometry import SnippetGeometry

__all__ = ['TADDataSample', 'SnippetGeometry']
