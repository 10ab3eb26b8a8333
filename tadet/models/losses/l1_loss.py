"""Element-wise L1 regression loss."""
from typing import Optional

import torch

from tadet.registry import MODELS

from .basic import _BaseLoss


@MODELS.register_module()
class L1Loss(_BaseLoss):
    """``|pred - target|`` element-wise (same shapes); ``mean`` divides by the element count
    unless ``avg_factor`` is given."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'L1Loss: pred {tuple(pred.shape)} vs target {tuple(target.shape)}')
        loss = (pred - target.to(pred.dtype)).abs()
        return self._reduce(loss, weight, avg_factor, reduction_override)
