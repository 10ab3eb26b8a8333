"""Batching of variable-length feature sequences with masks."""
import torch
from mmengine.model import BaseDataPreprocessor

from tadet.registry import MODELS


@MODELS.register_module()
class TADDataPreprocessor(BaseDataPreprocessor):
    """Stack ``inputs`` (list of ``[C, T_i, ...]``: features ``[C, T_i]`` or frame clips
    ``[3, T_i, H, W]``) into ``[B, C, T, ...]`` and build ``masks [B, T]``.

    ``T`` is the longest sequence rounded up to ``pad_to_multiple`` (pyramids halving the length
    several times need a multiple of ``2 ** levels``); positions past a sample's
    ``valid_length`` are zero and masked out (``False``).
    """

    def __init__(self, pad_to_multiple: int = 1, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if int(pad_to_multiple) < 1:
            raise ValueError(f'{type(self).__name__}: pad_to_multiple must be >= 1')
        self.pad_to_multiple = int(pad_to_multiple)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        shape = inputs[0].shape
        for x in inputs:
            if x.dim() != len(shape) or x.shape[0] != shape[0] or x.shape[2:] != shape[2:]:
                raise ValueError(f'inputs in one batch differ in shape apart from time: '
                                 f'{tuple(x.shape)} vs {tuple(shape)}; check feat_dim of the '
                                 f'feature files (or the crop size of frames).')
        m = self.pad_to_multiple
        t = max(x.shape[1] for x in inputs)
        t = (t + m - 1) // m * m
        batch = inputs[0].new_zeros((len(inputs), shape[0], t) + tuple(shape[2:]))
        masks = torch.zeros((len(inputs), t), dtype=torch.bool, device=batch.device)
        for i, x in enumerate(inputs):
            valid = x.shape[1]
            if samples is not None and 'valid_length' in samples[i]:
                valid = min(valid, int(samples[i].valid_length))
            batch[i, :, :x.shape[1]] = x
            masks[i, :valid] = True
        return dict(inputs=batch, masks=masks, data_samples=samples)
