"""Batching of frame clips ``[3, T_i, H, W]`` for end-to-end detectors (video backbones)."""
from tadet.registry import MODELS

from ..data_preprocessor import TADDataPreprocessor


@MODELS.register_module()
class TADFramesDataPreprocessor(TADDataPreprocessor):
    """Stack clips into ``[B, 3, T, H, W]`` and build ``masks [B, T]``.

    Same padding as :class:`TADDataPreprocessor` (time is dim 1 of every sample); ``T`` is the
    longest clip rounded up to ``pad_to_multiple`` (backbone temporal stride x
    ``2 ** (pyramid levels - 1)``). Clips are expected normalised already (``NormalizeFrames``).
    """
