"""Sliding windows over a snippet sequence (shared by training datasets and test-time inference)."""
from typing import List, Tuple

import numpy as np

from tadet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class SlidingWindow:
    """Windows of ``size`` snippets every ``stride`` snippets that cover the whole sequence.

    The last window is aligned to the end of the sequence so no snippet is left out; a sequence
    shorter than ``size`` gives one window starting at 0 (the caller pads it).

    Args:
        size: window length in snippets.
        stride: step between window starts (``<= size`` so windows cover everything).
    """

    def __init__(self, size: int, stride: int) -> None:
        if size < 1 or stride < 1:
            raise ValueError(f'SlidingWindow needs size >= 1 and stride >= 1, got {size}, {stride}')
        if stride > size:
            raise ValueError(f'SlidingWindow stride {stride} > size {size} would skip snippets')
        self.size = int(size)
        self.stride = int(stride)

    def starts(self, num_snippets: int) -> List[int]:
        """Start index of every window for a sequence of ``num_snippets``."""
        last = max(num_snippets - self.size, 0)
        starts = list(range(0, last + 1, self.stride))
        if starts[-1] != last:
            starts.append(last)
        return starts

    def __repr__(self) -> str:
        return f'SlidingWindow(size={self.size}, stride={self.stride})'


def crop_segments(segments: np.ndarray, start: float, length: float,
                  min_coverage: float) -> Tuple[np.ndarray, np.ndarray]:
    """Segments (snippet coords) relative to a window ``[start, start + length]``.

    Returns ``(cropped [M, 2], keep [N] bool)``: a segment is kept when at least
    ``min_coverage`` of its length lies inside the window; kept segments are truncated to
    ``[0, length]``.
    """
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    rel = segments - start
    inter = np.clip(np.minimum(rel[:, 1], length) - np.maximum(rel[:, 0], 0.0), 0, None)
    seg_len = np.maximum(rel[:, 1] - rel[:, 0], 1e-8)
    keep = inter / seg_len >= min_coverage - 1e-9
    keep &= inter > 0
    return np.clip(rel[keep], 0.0, length), keep
