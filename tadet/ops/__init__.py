"""Temporal ops: boundary max pooling, 1D RoIAlign, 1D NMS / soft-NMS (see docs/ops.md).

Every op takes ``impl`` in ``{'auto', 'compiled', 'reference'}``. The compiled extension
``tadet._ext`` is imported lazily on first use; without it ``auto`` falls back to the pure-torch
reference (one warning per process) and ``compiled`` raises with build instructions.
"""
from ._loader import available
from .boundary_pool import BoundaryMaxPool1d, boundary_max_pool_1d
from .nms import batched_nms_1d, nms_1d, segment_iou, soft_nms_1d
from .roi_align import RoIAlign1d, roi_align_1d

__all__ = [
    'available', 'boundary_max_pool_1d', 'BoundaryMaxPool1d', 'roi_align_1d', 'RoIAlign1d',
    'nms_1d', 'soft_nms_1d', 'batched_nms_1d', 'segment_iou'
]
