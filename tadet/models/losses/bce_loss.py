"""Binary cross-entropy on logits or probabilities, with soft targets (e.g. quality / tIoU)."""
from typing import Optional

import torch
import torch.nn.functional as F

from tadet.registry import MODELS

from .basic import _BaseLoss


@MODELS.register_module()
class BinaryCrossEntropyLoss(_BaseLoss):
    """BCE between ``pred`` and a target in [0, 1] of the same shape.

    Args:
        use_sigmoid: ``pred`` are logits (``binary_cross_entropy_with_logits``); otherwise
            probabilities (clamped to ``[eps, 1 - eps]``).
        detach_target: stop gradients into the target (AFSD's quality target is the tIoU of the
            refined segment, which must not be trained through this loss).
    """

    def __init__(self, use_sigmoid: bool = True, detach_target: bool = True,
                 eps: float = 1e-6, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = bool(use_sigmoid)
        self.detach_target = bool(detach_target)
        self.eps = float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'BinaryCrossEntropyLoss: pred {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)}')
        target = target.to(pred.dtype)
        if self.detach_target:
            target = target.detach()
        if self.use_sigmoid:
            loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
        else:
            loss = F.binary_cross_entropy(pred.clamp(self.eps, 1 - self.eps), target,
                                          reduction='none')
        return self._reduce(loss, weight, avg_factor, reduction_override)

    def extra_repr(self) -> str:
        return (f'use_sigmoid={self.use_sigmoid}, detach_target={self.detach_target}, '
                + super().extra_repr())
