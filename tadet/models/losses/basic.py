"""Basic element-wise losses (classification, regression, overlap) usable by any detector.

Every loss takes ``pred``, ``target`` and optional ``weight`` (broadcast to the element-wise
loss), ``avg_factor`` (divisor of the sum for ``reduction='mean'``; default: number of
elements) and ``reduction_override``; the result is multiplied by ``loss_weight``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.registry import MODELS

_REDUCTIONS = ('none', 'mean', 'sum')


def weight_reduce_loss(loss: torch.Tensor, weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> torch.Tensor:
    """Apply element-wise ``weight`` then reduce; ``mean`` divides by ``avg_factor`` if given.

    An empty ``loss`` reduces to 0 while keeping the graph (so a batch without positives
    still backpropagates zeros instead of NaN).
    """
    if weight is not None:
        loss = loss * weight
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        return loss.sum() / max(loss.numel(), 1)
    return loss.sum() / max(float(avg_factor), 1e-6)


class _BaseLoss(nn.Module):

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction must be one of {_REDUCTIONS}, '
                             f'got {reduction!r}')
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def _reduce(self, loss, weight, avg_factor, reduction_override):
        reduction = reduction_override or self.reduction
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)

    def extra_repr(self) -> str:
        return f'reduction={self.reduction!r}, loss_weight={self.loss_weight}'


@MODELS.register_module()
class CrossEntropyLoss(_BaseLoss):
    """Softmax cross-entropy. ``pred [N, C]`` logits, ``target [N]`` class indices.

    Args:
        ignore_index: targets with this value contribute 0 (and are not counted in the mean
            unless ``avg_factor`` is given).
        class_weight: optional per-class weights ``[C]``.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0,
                 ignore_index: int = -100, class_weight: Optional[list] = None) -> None:
        super().__init__(reduction, loss_weight)
        self.ignore_index = int(ignore_index)
        self.class_weight = None if class_weight is None else list(class_weight)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        cw = None if self.class_weight is None else pred.new_tensor(self.class_weight)
        loss = F.cross_entropy(pred, target.long(), weight=cw, reduction='none',
                               ignore_index=self.ignore_index)
        if avg_factor is None and (reduction_override or self.reduction) == 'mean':
            avg_factor = int((target != self.ignore_index).sum())
            if avg_factor == 0:
                return pred.sum() * 0.0
        return self._reduce(loss, weight, avg_factor, reduction_override)


@MODELS.register_module()
class SmoothL1Loss(_BaseLoss):
    """Smooth L1 (Huber with ``beta``): ``0.5 x^2 / beta`` if ``|x| < beta`` else
    ``|x| - 0.5 beta``. ``pred`` and ``target`` of the same shape."""

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if beta <= 0:
            raise ValueError('SmoothL1Loss: beta must be positive')
        self.beta = float(beta)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'SmoothL1Loss: pred {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)}')
        loss = F.smooth_l1_loss(pred, target.to(pred.dtype), reduction='none', beta=self.beta)
        return self._reduce(loss, weight, avg_factor, reduction_override)


@MODELS.register_module()
class MSELoss(_BaseLoss):
    """Mean squared error; ``use_sigmoid=True`` applies a sigmoid to ``pred`` first (overlap /
    quality regression to a tIoU target in [0, 1] from logits, as A2Net's overlap loss)."""

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = bool(use_sigmoid)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'MSELoss: pred {tuple(pred.shape)} vs target {tuple(target.shape)}')
        if self.use_sigmoid:
            pred = pred.sigmoid()
        loss = (pred - target.to(pred.dtype)) ** 2
        return self._reduce(loss, weight, avg_factor, reduction_override)

    def extra_repr(self) -> str:
        return f'use_sigmoid={self.use_sigmoid}, ' + super().extra_repr()
