"""Positive / negative balanced binary cross-entropy (BMN's TEM and PEM classification loss)."""
from typing import Optional

import torch
import torch.nn.functional as F

from tadet.registry import MODELS

from .basic import _BaseLoss


@MODELS.register_module()
class BalancedBCELoss(_BaseLoss):
    """BCE with positives and negatives re-weighted to equal total weight.

    Targets are binarised: positive where ``target > pos_thr``. With ``E`` valid entries,
    ``P`` positives and ``Q`` negatives, BMN weights positives by ``0.5 E / P`` and negatives by
    ``0.5 E / Q`` and averages over ``E``; that equals
    ``0.5 * mean_pos(-log p) + 0.5 * mean_neg(-log(1 - p))``, which is computed here (an empty
    side contributes 0). Statistics are pooled over the whole input (the batch), as in BMN.

    Args:
        pos_thr: binarisation threshold (BMN: 0.5 for start/end, 0.9 for the tIoU map).
        use_sigmoid: ``pred`` are logits; otherwise probabilities (clamped to ``[eps, 1-eps]``).
        eps: probability clamp.
        reduction: only ``'mean'`` (the balanced average) is meaningful.
        loss_weight: multiplier.
    """

    def __init__(self, pos_thr: float = 0.5, use_sigmoid: bool = False, eps: float = 1e-6,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if reduction != 'mean':
            raise ValueError("BalancedBCELoss: only reduction='mean' is supported")
        self.pos_thr = float(pos_thr)
        self.use_sigmoid = bool(use_sigmoid)
        self.eps = float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        """``pred``, ``target`` of the same shape; ``weight`` (same shape, optional) marks
        valid entries (> 0); ``avg_factor`` / ``reduction_override`` are not supported."""
        if pred.shape != target.shape:
            raise ValueError(f'BalancedBCELoss: pred {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)}')
        if avg_factor is not None or reduction_override not in (None, 'mean'):
            raise ValueError('BalancedBCELoss: avg_factor / reduction_override unsupported')
        valid = torch.ones_like(target, dtype=torch.bool) if weight is None else weight > 0
        pos = (target.detach() > self.pos_thr) & valid
        neg = (target.detach() <= self.pos_thr) & valid
        if self.use_sigmoid:
            log_p, log_q = F.logsigmoid(pred), F.logsigmoid(-pred)
        else:
            p = pred.clamp(self.eps, 1 - self.eps)
            log_p, log_q = p.log(), (1 - p).log()
        num_pos = pos.sum().clamp(min=1).to(pred.dtype)
        num_neg = neg.sum().clamp(min=1).to(pred.dtype)
        loss = -0.5 * ((log_p * pos).sum() / num_pos + (log_q * neg).sum() / num_neg)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'pos_thr={self.pos_thr}, use_sigmoid={self.use_sigmoid}, ' + super().extra_repr()
