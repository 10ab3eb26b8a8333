"""Batching of variable-length feature sequences with masks."""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from tadet.registry import MODELS


@MODELS.register_module()
class TADDataPreprocessor(BaseDataPreprocessor):
    """Stack ``inputs`` (list of ``[C, T_i]``) into ``[B, C, T]`` and build ``masks [B, T]``.

    ``T`` is the longest sequence rounded up to ``pad_to_multiple`` (pyramids halving the length
    several times need a multiple of ``2 ** levels``); positions past a sample's
    ``valid_length`` are zero and masked out (``False``).
    """

    def __init__(self, pad_to_multiple: int = 1, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        self.pad_to_multiple = int(pad_to_multiple)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        t = max(x.shape[-1] for x in inputs)
        m = self.pad_to_multiple
        t = (t + m - 1) // m * m
        c = inputs[0].shape[0]
        for x in inputs:
            if x.shape[0] != c:
                raise ValueError(f'inputs in one batch have different channel counts '
                                 f'({x.shape[0]} vs {c}); check feat_dim of the feature files.')
        feats = inputs[0].new_zeros((len(inputs), c, t))
        masks = torch.zeros((len(inputs), t), dtype=torch.bool, device=feats.device)
        for i, x in enumerate(inputs):
            valid = x.shape[-1]
            if samples is not None and 'valid_length' in samples[i]:
                valid = min(valid, int(samples[i].valid_length))
            feats[i, :, :x.shape[-1]] = x
            masks[i, :valid] = True
        return dict(inputs=feats, masks=masks, data_samples=samples)
