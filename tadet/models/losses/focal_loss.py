"""Softmax focal loss (multi-class focal loss over a softmax with a background class)."""
from typing import Optional

import torch
import torch.nn.functional as F

from tadet.registry import MODELS

from .basic import _BaseLoss


@MODELS.register_module()
class SoftmaxFocalLoss(_BaseLoss):
    """``-alpha_t (1 - p_t)^gamma log p_t`` on softmax probabilities.

    ``pred [N, C+1]`` logits with the background at ``background_index``; ``target [N]`` class
    indices in the same layout. ``alpha`` weighs foreground targets and ``1 - alpha`` the
    background (AFSD: ``alpha=0.75`` -> 0.25 background / 0.75 foreground).
    With ``reduction='mean'`` and no ``avg_factor`` the sum is divided by ``N``.

    Args:
        gamma: focusing exponent (2).
        alpha: foreground weight in [0, 1]; ``None`` = no class weighting.
        background_index: index of the background column; -1 (default) = the last column,
            tadet's background convention.
    """

    def __init__(self, gamma: float = 2.0, alpha: Optional[float] = 0.75,
                 background_index: int = -1, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if gamma < 0:
            raise ValueError('SoftmaxFocalLoss: gamma must be >= 0')
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError('SoftmaxFocalLoss: alpha must be in [0, 1]')
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)
        self.background_index = int(background_index)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        if pred.dim() != 2 or target.shape != pred.shape[:1]:
            raise ValueError(f'SoftmaxFocalLoss: pred [N, C] and target [N] expected, got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        target = target.long()
        logp = F.log_softmax(pred.float(), dim=1).gather(1, target[:, None]).squeeze(1)
        p = logp.exp()
        loss = -((1.0 - p).clamp(min=0) ** self.gamma) * logp
        if self.alpha is not None:
            bg = self.background_index % pred.shape[1]  # -1 -> the last column
            fg = target != bg
            loss = loss * torch.where(fg, loss.new_tensor(self.alpha),
                                      loss.new_tensor(1.0 - self.alpha))
        return self._reduce(loss, weight, avg_factor, reduction_override)

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, alpha={self.alpha}, '
                f'background_index={self.background_index}, ' + super().extra_repr())
