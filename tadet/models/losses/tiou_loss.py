"""``1 - tIoU`` localisation loss between predicted and target segments."""
from typing import Optional

import torch

from tadet.registry import MODELS

from ..task_modules.tiou import segment_tiou
from .basic import _BaseLoss


@MODELS.register_module()
class TIoULoss(_BaseLoss):
    """``1 - tIoU(pred_i, target_i)`` for ``[N, 2]`` (start, end) segments in the same unit.

    A predicted segment with ``end < start`` has length 0 (tIoU 0, loss 1); the gradient then
    still flows through the union term. ``reduction='mean'`` divides by ``N`` unless
    ``avg_factor`` is given.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.shape[-1:] != (2,) or pred.dim() != 2:
            raise ValueError(f'TIoULoss: pred and target must both be [N, 2], got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        loss = 1.0 - segment_tiou(pred.float(), target.float().detach(), aligned=True)
        return self._reduce(loss, weight, avg_factor, reduction_override)
