"""Feature loading: ``.npy``, ``.npz``, ``.pt``, ``.csv`` files shaped ``[T, C]`` (or ``[C, T]``)."""
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tadet.registry import TRANSFORMS

SUPPORTED_SUFFIXES = ('.npy', '.npz', '.pt', '.pth', '.csv')


class FeatureError(ValueError):
    """A feature file that is missing, unreadable or inconsistent with the config."""


def _check_exists(path: str, video: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Feature file for video {video!r} not found: {path}. Check feature_root / '
            f'feature_suffix in the dataset config, extract the features, or generate synthetic '
            f'ones with tools/data/make_synthetic.py (see docs/data_preparation.md).')


def read_feature_file(path: str, video: str = '', layout: str = 'TC',
                      mmap: bool = False) -> np.ndarray:
    """Read one feature file as a float32 ``[T, C]`` array (``layout='CT'`` transposes)."""
    _check_exists(path, video)
    suffix = osp.splitext(path)[1].lower()
    try:
        if suffix == '.npy':
            arr = np.load(path, mmap_mode='r' if mmap else None)
        elif suffix == '.npz':
            with np.load(path) as z:
                keys = list(z.keys())
                key = 'feats' if 'feats' in keys else keys[0]
                arr = z[key]
        elif suffix in ('.pt', '.pth'):
            obj = torch.load(path, map_location='cpu', weights_only=False)
            if isinstance(obj, dict):
                obj = obj.get('feats', next(iter(obj.values())))
            arr = obj.numpy() if isinstance(obj, torch.Tensor) else np.asarray(obj)
        elif suffix == '.csv':
            arr = np.loadtxt(path, delimiter=',', dtype=np.float32, ndmin=2, comments='#')
        else:
            raise FeatureError(f'Feature file {path}: unsupported suffix {suffix!r}; use one of '
                               f'{SUPPORTED_SUFFIXES}.')
    except (FeatureError, FileNotFoundError):
        raise
    except Exception as e:
        raise FeatureError(f'Feature file {path} (video {video!r}) could not be read '
                           f'({type(e).__name__}: {e}); re-extract or regenerate it.') from e
    if arr.ndim != 2:
        raise FeatureError(f'Feature file {path} (video {video!r}) has shape {tuple(arr.shape)}; '
                           f'expected a 2-D [T, C] array (set layout="CT" in LoadFeatures for [C, T]).')
    if layout == 'CT':
        arr = arr.T
    elif layout != 'TC':
        raise ValueError(f'feature layout must be "TC" or "CT", got {layout!r}')
    return arr


def feature_length(path: str, video: str = '', layout: str = 'TC') -> int:
    """Number of snippets in a feature file, reading only the header where the format allows."""
    arr = read_feature_file(path, video, layout, mmap=True)
    return int(arr.shape[0])


@TRANSFORMS.register_module()
class LoadFeatures(BaseTransform):
    """Load (and concatenate along channels) the feature files of a video.

    Required keys: ``feature_paths`` (list of files, one per feature set), ``video_name``.
    Optional: ``window_start``/``window_size`` (only that slice is kept in memory).
    Added keys: ``feats`` float32 ``[T, C]``, ``num_snippets`` (whole video).

    Args:
        feat_dim: expected channel count after concatenation (``None``: not checked).
        layout: ``'TC'`` (default) or ``'CT'`` file layout.
        check_finite: raise on NaN/Inf features.
        max_length_mismatch: feature sets whose lengths differ by up to this many snippets are
            truncated to the shortest (extractors disagree by a snippet at the end); more is an
            error.
    """

    def __init__(self, feat_dim: Optional[int] = None, layout: str = 'TC',
                 check_finite: bool = True, max_length_mismatch: int = 2) -> None:
        self.feat_dim = feat_dim
        self.layout = layout
        self.check_finite = check_finite
        self.max_length_mismatch = max_length_mismatch

    def transform(self, results: dict) -> dict:
        video = results['video_name']
        paths: List[str] = results['feature_paths']
        arrays = [read_feature_file(p, video, self.layout, mmap=True) for p in paths]
        lengths = [a.shape[0] for a in arrays]
        if max(lengths) - min(lengths) > self.max_length_mismatch:
            raise FeatureError(f'Video {video!r}: feature sets have different lengths {lengths} '
                               f'({paths}); they must come from the same snippet grid.')
        length = min(lengths)
        if length == 0:
            raise FeatureError(f'Video {video!r} has zero snippets in {paths}; re-extract its '
                               f'features or add it to the dataset blocklist.')
        start = int(results.get('window_start', 0))
        stop = length if results.get('window_size') is None else min(
            length, start + int(results['window_size']))
        feats = np.concatenate([np.asarray(a[start:stop], dtype=np.float32) for a in arrays],
                               axis=1)
        if self.feat_dim is not None and feats.shape[1] != self.feat_dim:
            raise FeatureError(
                f'Video {video!r}: features {paths} have {feats.shape[1]} channels but the config '
                f'expects feat_dim={self.feat_dim}; fix the model in_channels / feat_dim or use '
                f'the matching feature files.')
        if self.check_finite and not np.isfinite(feats).all():
            bad = int((~np.isfinite(feats)).any(axis=1).sum())
            raise FeatureError(f'Video {video!r}: {bad} snippet(s) of {paths} contain NaN/Inf; '
                               f're-extract the features of this video.')
        results['feats'] = np.ascontiguousarray(feats)
        results['num_snippets'] = length
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(feat_dim={self.feat_dim}, layout={self.layout!r}, '
                f'check_finite={self.check_finite})')
