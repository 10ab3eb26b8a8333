"""AFSD's boundary consistency learning (BCL) losses.

* :class:`ActivationGuidedBoundaryLoss` - the mean over channels of ``tanh`` of a (non-negative)
  boundary feature is read as a per-position boundary probability and trained with BCE against a
  band around each ground-truth boundary.
* :class:`BoundaryContrastiveLoss` - triplet margin loss: features pooled at a fake boundary
  inside an action (anchor: end of the first part, positive: start of the second part) must be
  closer to each other than to a real action/background boundary (negative).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from tadet.registry import MODELS

from .basic import _BaseLoss


@MODELS.register_module()
class ActivationGuidedBoundaryLoss(_BaseLoss):
    """BCE between ``mean_c(tanh(feats))`` and a 0/1 boundary band.

    ``feats [B, C, T]`` (start or end half of the frame-level feature), ``target [B, T]`` in
    [0, 1]; ``weight [B, T]`` (e.g. the validity mask). ``mean`` divides by the number of
    weighted positions (``weight.sum()``) unless ``avg_factor`` is given.
    """

    def __init__(self, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = float(eps)

    @staticmethod
    def activation(feats: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` -> ``[B, T]`` boundary probability ``mean_c(tanh(feats))``."""
        return torch.tanh(feats).mean(dim=1)

    def forward(self, feats: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if feats.dim() != 3 or target.shape != (feats.shape[0], feats.shape[2]):
            raise ValueError(f'ActivationGuidedBoundaryLoss: feats [B, C, T] and target [B, T] '
                             f'expected, got {tuple(feats.shape)} and {tuple(target.shape)}')
        prob = self.activation(feats.float()).clamp(self.eps, 1.0 - self.eps)
        loss = F.binary_cross_entropy(prob, target.to(prob.dtype), reduction='none')
        if weight is not None:
            weight = weight.to(prob.dtype)
            if avg_factor is None:
                avg_factor = float(weight.sum())
        return self._reduce(loss, weight, avg_factor, reduction_override)


@MODELS.register_module()
class BoundaryContrastiveLoss(_BaseLoss):
    """Triplet margin loss ``max(d(a, p) - d(a, n) + margin, 0)`` on ``[N, D]`` features,
    ``d`` the ``p``-norm distance. ``mean`` averages over the ``N`` triplets."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, reduction: str = 'mean',
                 loss_weight: float = 0.1) -> None:
        super().__init__(reduction, loss_weight)
        if margin < 0:
            raise ValueError('BoundaryContrastiveLoss: margin must be >= 0')
        self.margin = float(margin)
        self.p = float(p)

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if not (anchor.shape == positive.shape == negative.shape) or anchor.dim() != 2:
            raise ValueError(f'BoundaryContrastiveLoss: anchor/positive/negative must be the same '
                             f'[N, D] shape, got {tuple(anchor.shape)}, {tuple(positive.shape)}, '
                             f'{tuple(negative.shape)}')
        if anchor.shape[0] == 0:
            return anchor.sum() * 0.0
        loss = F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     reduction='none')
        return self._reduce(loss, weight, avg_factor, reduction_override)

    def extra_repr(self) -> str:
        return f'margin={self.margin}, p={self.p}, ' + super().extra_repr()
