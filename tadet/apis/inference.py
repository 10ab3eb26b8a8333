"""Using a trained detector on a new video's features.

>>> model = init_detector('configs/a2net/a2net_thumos14_synth.py', 'work_dirs/a2net/epoch_10.pth')
>>> dets = inference_detector(model, feats, fps=30, feature_stride=4, offset_frames=8)
>>> dets[0]
{'segment': [12.3, 17.9], 'label': 'HighJump', 'label_index': 9, 'score': 0.81}
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from tadet.structures import SnippetGeometry

from ._common import as_config, input_channels


def classes_of_test_set(cfg: Config) -> List[str]:
    """Class names of the config's test dataset (annotations only, no feature is read)."""
    from mmengine.registry import init_default_scope

    import tadet.datasets  # noqa: F401
    from tadet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'tadet'))
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[], lazy_init=True))
    return [str(c) for c in ds.metainfo['classes']]


def init_detector(config: Union[str, Config], checkpoint: Optional[str] = None,
                  device: str = 'cpu', cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the detector of ``config`` in eval mode on ``device`` and load ``checkpoint``.

    The checkpoint must fit the model exactly (every weight present, same shapes; see
    :func:`tadet.apis.runner.check_checkpoint_matches_model`). Sets ``model.cfg`` and
    ``model.dataset_meta`` (``classes`` from the checkpoint; ``None`` without one:
    :func:`inference_detector` then reads them from the config's test dataset) and
    ``model.in_channels`` (feature channels the model reads).
    """
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    import tadet.models  # noqa: F401  (registers the detectors)
    from tadet.registry import MODELS

    cfg = as_config(config, cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'tadet'))
    model = MODELS.build(cfg.model)
    meta: Dict = {}
    if checkpoint is not None:
        from .runner import check_checkpoint_matches_model
        from tadet.utils.compat import load_checkpoint_file
        name = cfg.filename if isinstance(config, Config) else config
        check_checkpoint_matches_model(model, checkpoint, str(name))
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
        model.load_state_dict(ckpt['state_dict'] if 'state_dict' in ckpt else ckpt, strict=True)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    classes = (meta.get('dataset_meta') or {}).get('classes') if isinstance(meta, dict) else None
    model.cfg = cfg
    model.in_channels = input_channels(cfg)
    model.dataset_meta = dict(classes=None if classes is None else [str(c) for c in classes])
    return model.to(device).eval()


def video_duration(num_snippets: int, geometry: SnippetGeometry) -> float:
    """Seconds spanned by ``num_snippets`` clip features: the clips of ``2 * offset_frames``
    frames (at least one) every ``feature_stride`` frames."""
    clip = max(2 * geometry.offset_frames, 1.0)
    return ((num_snippets - 1) * geometry.feature_stride + clip) / geometry.fps


def make_test_sample(features: torch.Tensor, fps: float, feature_stride: float = 1.0,
                     offset_frames: float = 0.0, video_name: str = 'video',
                     duration: Optional[float] = None) -> dict:
    """``model.test_step`` input of one whole video: ``features [C, T]`` and its metainfo."""
    from tadet.structures import TADDataSample
    geo = SnippetGeometry(float(fps), float(feature_stride), float(offset_frames))
    t = int(features.shape[-1])
    if duration is None:
        duration = video_duration(t, geo)
    sample = TADDataSample(metainfo=dict(
        video_name=video_name, duration=float(duration), fps=geo.fps,
        feature_stride=geo.feature_stride, offset_frames=geo.offset_frames, num_snippets=t,
        window_start=0, window_size=t, valid_length=t, snippet_scale=1.0))
    return dict(inputs=[features], data_samples=[sample])


def _as_features(features, in_channels: Optional[int], layout: str, source: str) -> torch.Tensor:
    """``[T, C]`` (``layout='TC'``) or ``[C, T]`` array/tensor/file -> float32 ``[C, T]``."""
    if isinstance(features, str):
        from tadet.datasets.transforms.loading import read_feature_file
        if not osp.isfile(features):
            raise FileNotFoundError(f'feature file not found: {features}')
        arr = read_feature_file(features, osp.splitext(osp.basename(features))[0], layout)
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).T  # [C, T]
    else:
        x = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor)
                            else features).float()
        if x.dim() != 2:
            raise ValueError(f'{source}: features must be 2-D [T, C], got shape '
                             f'{tuple(x.shape)}')
        x = x.T if layout == 'TC' else x
    if x.shape[1] == 0:
        raise ValueError(f'{source}: the video has no snippet')
    if in_channels is not None and x.shape[0] != in_channels:
        raise ValueError(f'{source}: features have {x.shape[0]} channels per snippet '
                         f'({x.shape[1]} snippets), the model expects {in_channels} '
                         f'(the config\'s feat_dim); wrong feature type or layout?')
    bad = ~torch.isfinite(x)
    if bad.any():
        snippets = torch.nonzero(bad.any(0)).squeeze(1)
        raise ValueError(f'{source}: {int(bad.sum())} NaN/inf feature value(s) in '
                         f'{snippets.numel()} snippet(s) (first at snippet '
                         f'{int(snippets[0])}); re-extract the features')
    return x.contiguous()


def inference_detector(model: nn.Module, features: Union[str, np.ndarray, torch.Tensor],
                       fps: float, feature_stride: float = 1.0, offset_frames: float = 0.0,
                       video_name: Optional[str] = None, duration: Optional[float] = None,
                       layout: str = 'TC', score_thr: float = 0.0,
                       classes: Optional[Sequence[str]] = None) -> List[dict]:
    """Detections of one video.

    Args:
        model: from :func:`init_detector`.
        features: ``[T, C]`` snippet features (``layout='CT'`` for ``[C, T]``), or a feature
            file (``.npy``, ``.npz``, ``.pt``, ``.csv``).
        fps / feature_stride / offset_frames: the features' snippet geometry (snippet ``i`` is
            centred on frame ``offset_frames + i * feature_stride`` at ``fps``).
        duration: video length in seconds (default: spanned by the clips).
        score_thr: drop detections at or below this score.
        classes: class names (default ``model.dataset_meta['classes']``, else the config's
            test dataset's, else ``class_<index>``).
    Returns:
        list (best first) of dict(segment ``[start, end]`` seconds, label (name), label_index,
        score).
    """
    if layout not in ('TC', 'CT'):
        raise ValueError(f"layout must be 'TC' or 'CT', got {layout!r}")
    source = features if isinstance(features, str) else 'features'
    x = _as_features(features, getattr(model, 'in_channels', None), layout, source)
    if video_name is None:
        video_name = (osp.splitext(osp.basename(features))[0] if isinstance(features, str)
                      else 'video')
    device = next(model.parameters()).device
    data = make_test_sample(x.to(device), fps, feature_stride, offset_frames, video_name,
                            duration)
    with torch.no_grad():
        pred = model.test_step(data)[0].pred_instances
    names = list(classes) if classes is not None else (
        getattr(model, 'dataset_meta', None) or {}).get('classes')
    if names is None and getattr(model, 'cfg', None) is not None:
        try:
            names = classes_of_test_set(model.cfg)
        except Exception:  # no readable annotation file here: indices name the classes
            names = None
    out = []
    for (s, e), score, lab in zip(pred.segments.tolist(), pred.scores.tolist(),
                                  pred.labels.tolist()):
        if score <= score_thr:
            continue
        name = names[int(lab)] if names and 0 <= int(lab) < len(names) else f'class_{lab}'
        out.append(dict(segment=[float(s), float(e)], label=str(name), label_index=int(lab),
                        score=float(score)))
    out.sort(key=lambda d: -d['score'])
    return out
