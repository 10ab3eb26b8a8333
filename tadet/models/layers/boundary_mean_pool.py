"""Boundary mean pooling: the average-pooling counterpart of ``tadet.ops.boundary_max_pool_1d``
(same regions, same integer range rules), for AFSD's "boundary max vs mean pooling" ablation."""
import torch
from torch import nn

from tadet.ops.boundary_pool import segment_bounds
from tadet.registry import MODELS


def boundary_mean_pool_1d(x: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """``x [B, C, T]``, ``segments [B, K, 4]`` (start_l, start_r, end_l, end_r) -> ``[B, C, K]``:
    channels ``[0, C/2)`` averaged over ``x[l..r]`` of the start range, ``[C/2, C)`` over the end
    range; ``l = trunc(a)``, ``r = trunc(b)`` clamped to ``[0, T-1]``, ``r < l`` -> ``x[l]``."""
    B, C, T = x.shape
    if C % 2:
        raise ValueError(f'boundary_mean_pool_1d: C must be even, got {C}')
    K = segments.shape[1]
    if B * C * K == 0:
        return x.new_zeros(B, C, K)
    l, r = segment_bounds(segments.to(x.device).float(), T)  # [B, K, 2]
    csum = torch.nn.functional.pad(x.cumsum(dim=2), (1, 0))  # [B, C, T+1]
    half = C // 2
    outs = []
    for h in range(2):
        ch = csum[:, h * half:(h + 1) * half]
        lo = l[:, :, h][:, None].expand(B, half, K)
        hi = (r[:, :, h] + 1)[:, None].expand(B, half, K)
        total = ch.gather(2, hi) - ch.gather(2, lo)
        outs.append(total / (hi - lo).to(x.dtype))
    return torch.cat(outs, dim=1)


@MODELS.register_module()
class BoundaryMeanPool1d(nn.Module):
    """Module form of :func:`boundary_mean_pool_1d`."""

    def forward(self, x: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        return boundary_mean_pool_1d(x, segments)
