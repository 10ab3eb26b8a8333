"""Snippet geometry: exact seconds <-> snippet-index conversion.

Snippet ``i`` of a feature sequence is centred on frame ``offset_frames + i * feature_stride`` of
a video sampled at ``fps``. A model works in snippet coordinates, where snippet ``i`` sits at the
continuous coordinate ``i``; a segment ``[s, e]`` in seconds maps to
``[(s * fps - offset_frames) / feature_stride, (e * fps - offset_frames) / feature_stride]``.
"""
from dataclasses import dataclass
from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, float]


@dataclass(frozen=True)
class SnippetGeometry:
    """Temporal grid of a feature sequence.

    Args:
        fps: frames per second of the frame grid the features were extracted on.
        feature_stride: frames between two consecutive snippets.
        offset_frames: frame index of snippet 0's centre (e.g. 8 for 16-frame I3D clips).
    """
    fps: float
    feature_stride: float = 1.0
    offset_frames: float = 0.0

    def __post_init__(self) -> None:
        if not self.fps > 0 or not self.feature_stride > 0:
            raise ValueError(f'SnippetGeometry needs fps > 0 and feature_stride > 0, got '
                             f'fps={self.fps}, feature_stride={self.feature_stride}')

    @property
    def seconds_per_snippet(self) -> float:
        return self.feature_stride / self.fps

    def seconds_to_snippets(self, t: ArrayLike) -> ArrayLike:
        """Seconds -> continuous snippet coordinate (any shape)."""
        return (t * self.fps - self.offset_frames) / self.feature_stride

    def snippets_to_seconds(self, x: ArrayLike) -> ArrayLike:
        """Continuous snippet coordinate -> seconds (any shape)."""
        return (x * self.feature_stride + self.offset_frames) / self.fps

    def num_snippets(self, duration: float) -> int:
        """Snippets a clip-based extractor yields on a video of ``duration`` seconds.

        Clips span ``2 * offset_frames`` frames (at least one frame) every ``feature_stride``
        frames; a video shorter than one clip still yields one snippet.
        """
        num_frames = duration * self.fps
        clip = max(2 * self.offset_frames, 1.0)
        return max(1, int(np.floor((num_frames - clip) / self.feature_stride)) + 1)
