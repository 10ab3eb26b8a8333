"""SnippetBaseline: a plain snippet classifier + threshold grouping, the floor of the benchmark.

No proposals, no boundaries, no regression: a 1x1 input projection, a stack of dilated residual
1D convs, per-class sigmoid snippet scores (:class:`SnippetBaselineHead`), and detections = the
runs of snippets above a few thresholds. It uses the same dataset, windows, post-processing and
evaluator as every other detector, so any method that does not beat it on a feature set is not
using its localisation machinery; and a user can run it first on their own features as a
sanity check (if it scores near zero, the features or the annotations are the problem).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn

from tadet.models.layers import DilatedResidualLayer
from tadet.registry import MODELS

from .base import BaseTADDetector


@MODELS.register_module()
class SnippetBaseline(BaseTADDetector):
    """Snippet classifier + threshold grouping (see the module docstring).

    Args:
        in_channels: input feature channels.
        feat_channels: channels of the conv stack.
        num_layers: dilated residual layers.
        dilations: dilation of each layer, cycled when shorter than ``num_layers``
            (default ``1, 2, 4, 8`` twice for 8 layers: a receptive field of 61 snippets).
        kernel_size: temporal kernel of the dilated convs.
        dropout: dropout in each residual layer.
        cls_head: :class:`SnippetBaselineHead` config (``in_channels`` / ``num_classes``).
        data_preprocessor / train_cfg / test_cfg / init_cfg: see :class:`BaseTADDetector`
            (``test_cfg.thresholds`` is the head's).
    """

    def __init__(self, in_channels: int, cls_head: dict, feat_channels: int = 128,
                 num_layers: int = 8, dilations: Sequence[int] = (1, 2, 4, 8),
                 kernel_size: int = 3, dropout: float = 0.0,
                 data_preprocessor: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, train_cfg=train_cfg,
                         test_cfg=test_cfg, init_cfg=init_cfg)
        if num_layers < 0 or not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f'SnippetBaseline: num_layers must be >= 0 and dilations positive '
                             f'integers, got {num_layers} / {dilations}')
        if kernel_size % 2 != 1:
            raise ValueError(f'SnippetBaseline: kernel_size must be odd, got {kernel_size}')
        self.input_proj = nn.Conv1d(in_channels, feat_channels, 1)
        self.layers = nn.ModuleList([
            DilatedResidualLayer(feat_channels, int(dilations[i % len(dilations)]),
                                 kernel_size, dropout)
            for i in range(num_layers)])
        cls_head = dict(cls_head)
        if cls_head.setdefault('in_channels', feat_channels) != feat_channels:
            raise ValueError(f'SnippetBaseline: cls_head.in_channels must be feat_channels '
                             f'({feat_channels}), got {cls_head["in_channels"]}')
        self.cls_head = MODELS.build(cls_head)

    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``inputs [B, C_in, T]``, ``masks [B, T]`` -> features ``[B, feat_channels, T]``."""
        m = masks[:, None].to(inputs.dtype)
        x = self.input_proj(inputs) * m
        for layer in self.layers:
            x = layer(x, m)
        return x

    def loss_heads(self) -> List[nn.Module]:
        return [self.cls_head]
