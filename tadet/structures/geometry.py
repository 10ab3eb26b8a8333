"""Snippet geometry: exact seconds <-> snippet-index conversion.

Snippet ``i`` of a feature sequence is centred on frame ``offset_frames + i * feature_stride`` of
a video sampled at ``fps``. Models work in continuous snippet coordinates where snippet ``i``
covers ``[i, i + 1)`` and its centre is ``i + 0.5`` (so a window of ``L`` snippets spans
``[0, L]``, anchors/points sit at ``i + 0.5``, and ``roi_align_1d(..., aligned=True)`` samples
snippet ``i`` at coordinate ``i + 0.5``). Time ``t`` (seconds) maps to coordinate
``(t * fps - offset_frames) / feature_stride + 0.5``.
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
        """Seconds -> continuous snippet coordinate (snippet ``i`` covers ``[i, i+1)``)."""
        return (t * self.fps - self.offset_frames) / self.feature_stride + 0.5

    def snippets_to_seconds(self, x: ArrayLike) -> ArrayLike:
        """Continuous snippet coordinate -> seconds (inverse of ``seconds_to_snippets``)."""
        return ((x - 0.5) * self.feature_stride + self.offset_frames) / self.fps

    def snippet_centre_seconds(self, i: ArrayLike) -> ArrayLike:
        """Time (s) of the centre of snippet index ``i`` (frame ``offset + i * stride``)."""
        return (i * self.feature_stride + self.offset_frames) / self.fps

    def num_snippets(self, duration: float) -> int:
        """Snippets a clip-based extractor yields on a video of ``duration`` seconds.

        Clips span ``2 * offset_frames`` frames (at least one frame) every ``feature_stride``
        frames; a video shorter than one clip still yields one snippet.
        """
        num_frames = duration * self.fps
        clip = max(2 * self.offset_frames, 1.0)
        return max(1, int(np.floor((num_frames - clip) / self.feature_stride)) + 1)
