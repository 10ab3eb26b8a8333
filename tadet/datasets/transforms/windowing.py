"""Temporal transforms on loaded features: resize, random truncation, padding.

All work on ``results['feats']`` float32 ``[T, C]`` and ``results['gt_segments']`` ``[N, 2]`` in
input snippet coordinates (snippet ``i`` covers ``[i, i + 1)``). Sliding windows for training are
enumerated by the dataset (see ``TADDataset(window=...)``) and loaded slice by slice; test-time
windows are cut by the detector (``test_cfg.sliding_window``).
"""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from tadet.registry import TRANSFORMS

from ..windows import crop_segments


@TRANSFORMS.register_module()
class ResizeFeatures(BaseTransform):
    """Resize the whole sequence to ``length`` snippets by linear interpolation (ActivityNet).

    Ground truth is rescaled; ``snippet_scale`` records original snippets per new snippet so
    post-processing maps detections back exactly.
    """

    def __init__(self, length: int) -> None:
        if length < 1:
            raise ValueError(f'ResizeFeatures length must be >= 1, got {length}')
        self.length = int(length)

    def transform(self, results: dict) -> dict:
        feats = results['feats']
        t = feats.shape[0]
        x = torch.from_numpy(np.ascontiguousarray(feats.T))[None]  # [1, C, T]
        x = F.interpolate(x, size=self.length, mode='linear', align_corners=False)
        results['feats'] = x[0].T.contiguous().numpy()
        ratio = self.length / t
        if 'gt_segments' in results:
            results['gt_segments'] = np.clip(results['gt_segments'] * ratio, 0, self.length)
        results['snippet_scale'] = results.get('snippet_scale', 1.0) / ratio
        results['window_size'] = self.length
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(length={self.length})'


@TRANSFORMS.register_module()
class RandomTruncate(BaseTransform):
    """Random crop of ``size`` snippets (training on per-video entries).

    Tries up to ``max_tries`` random starts for one that keeps at least one action with
    ``min_gt_coverage`` of it inside; actions are truncated to the crop. Shorter sequences are
    left as they are (pad them with ``PadFeatures``).

    Args:
        seed: a private generator for this transform; ``None`` (default) draws from numpy's
            global generator, which the run's ``randomness.seed`` seeds (and mmengine's
            ``worker_init_fn`` per data-loader worker), so a run is reproducible from its seed.
    """

    def __init__(self, size: int, min_gt_coverage: float = 0.5, max_tries: int = 10,
                 seed: Optional[int] = None) -> None:
        self.size = int(size)
        self.min_gt_coverage = min_gt_coverage
        self.max_tries = max_tries
        self.rng = None if seed is None else np.random.default_rng(seed)

    def transform(self, results: dict) -> dict:
        feats = results['feats']
        t = feats.shape[0]
        if t <= self.size:
            return results
        segs = results.get('gt_segments', np.zeros((0, 2)))
        labels = results.get('gt_labels', np.zeros((0,), np.int64))
        for _ in range(self.max_tries):
            start = (int(self.rng.integers(0, t - self.size + 1)) if self.rng is not None
                     else int(np.random.randint(0, t - self.size + 1)))
            cropped, keep = crop_segments(segs, start, self.size, self.min_gt_coverage)
            if keep.any() or len(segs) == 0:
                break
        results['feats'] = feats[start:start + self.size]
        results['gt_segments'] = cropped
        results['gt_labels'] = labels[keep]
        results['window_start'] = results.get('window_start', 0) + start * results.get(
            'snippet_scale', 1.0)
        results['window_size'] = self.size
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size}, min_gt_coverage={self.min_gt_coverage})'


@TRANSFORMS.register_module()
class PadFeatures(BaseTransform):
    """Zero-pad ``feats`` at the end to ``size`` snippets; ``valid_length`` keeps the real one.

    The mask ``[size]`` (True = real snippet) is built by the data preprocessor from
    ``valid_length``.
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def transform(self, results: dict) -> dict:
        feats = results['feats']
        t = feats.shape[0]
        results['valid_length'] = min(t, self.size)
        if t < self.size:
            pad = np.zeros((self.size - t, feats.shape[1]), dtype=feats.dtype)
            results['feats'] = np.concatenate([feats, pad], axis=0)
        elif t > self.size:
            raise ValueError(f'PadFeatures(size={self.size}) got {t} snippets of video '
                             f'{results.get("video_name")!r}; crop or resize first.')
        results['window_size'] = self.size
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size})'
