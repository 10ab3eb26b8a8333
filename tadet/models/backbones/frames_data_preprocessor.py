"""Batching of frame clips ``[3, T_i, H, W]`` for end-to-end detectors (video backbones)."""
import torch
from mmengine.model import BaseDataPreprocessor

from tadet.registry import MODELS


@MODELS.register_module()
class TADFramesDataPreprocessor(BaseDataPreprocessor):
    """Stack clips into ``[B, 3, T, H, W]`` and build ``masks [B, T]``.

    ``T`` is the longest clip rounded up to ``pad_to_multiple`` (backbone temporal stride x
    ``2 ** (pyramid levels - 1)``); frames past a sample's ``valid_length`` are zero and masked.
    Clips are expected normalised already (``NormalizeFrames``).
    """

    def __init__(self, pad_to_multiple: int = 1, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if int(pad_to_multiple) < 1:
            raise ValueError('TADFramesDataPreprocessor: pad_to_multiple must be >= 1')
        self.pad_to_multiple = int(pad_to_multiple)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        shape = inputs[0].shape
        for x in inputs:
            if x.dim() != 4 or x.shape[0] != shape[0] or x.shape[2:] != shape[2:]:
                raise ValueError(f'TADFramesDataPreprocessor: clips must be [3, T, H, W] with '
                                 f'equal C, H, W in a batch; got {tuple(x.shape)} and '
                                 f'{tuple(shape)}')
        m = self.pad_to_multiple
        t = max(x.shape[1] for x in inputs)
        t = (t + m - 1) // m * m
        clips = inputs[0].new_zeros((len(inputs), shape[0], t) + tuple(shape[2:]))
        masks = torch.zeros((len(inputs), t), dtype=torch.bool, device=clips.device)
        for i, x in enumerate(inputs):
            valid = x.shape[1]
            if samples is not None and 'valid_length' in samples[i]:
                valid = min(valid, int(samples[i].valid_length))
            clips[i, :, :x.shape[1]] = x
            masks[i, :valid] = True
        return dict(inputs=clips, masks=masks, data_samples=samples)
