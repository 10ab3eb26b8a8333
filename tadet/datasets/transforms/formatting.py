"""Packing loaded samples into model inputs and ``TADDataSample``s."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from tadet.registry import TRANSFORMS
from tadet.structures import TADDataSample

DEFAULT_META_KEYS = ('video_name', 'duration', 'fps', 'feature_stride', 'offset_frames',
                     'num_snippets', 'window_start', 'window_size', 'valid_length',
                     'snippet_scale', 'label_hierarchy')


@TRANSFORMS.register_module()
class PackTADInputs(BaseTransform):
    """Pack ``feats [T, C]`` into ``inputs`` float32 ``[C, T]`` and a ``TADDataSample``.

    ``gt_instances``: ``gt_segments``/``gt_labels`` (input snippet coordinates);
    ``gt_seconds``: the video's whole ground truth in seconds (used by the metric).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def pack_inputs(self, results: dict) -> torch.Tensor:
        """Model input of the sample (time last); subclasses pack other modalities."""
        return torch.from_numpy(np.ascontiguousarray(results['feats'].T, dtype=np.float32))

    def transform(self, results: dict) -> dict:
        inputs = self.pack_inputs(results)
        length = inputs.shape[1]
        results.setdefault('valid_length', length)
        results.setdefault('window_start', 0)
        results.setdefault('window_size', length)
        results.setdefault('snippet_scale', 1.0)
        sample = TADDataSample()
        gt = InstanceData()
        gt.segments = torch.as_tensor(
            np.asarray(results.get('gt_segments', np.zeros((0, 2))), np.float32).reshape(-1, 2))
        gt.labels = torch.as_tensor(np.asarray(results.get('gt_labels', []), np.int64))
        sample.gt_instances = gt
        if 'gt_segments_seconds' in results:
            sec = InstanceData()
            sec.segments = torch.as_tensor(
                np.asarray(results['gt_segments_seconds'], np.float64).reshape(-1, 2))
            sec.labels = torch.as_tensor(np.asarray(results['gt_labels_video'], np.int64))
            sample.gt_seconds = sec
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
