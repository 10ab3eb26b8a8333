"""Boundary max pooling (AFSD), compiled and pure-torch reference."""
import torch
from torch import Tensor, nn

from ._loader import compute_dtype, resolve


def _check(x: Tensor, segments: Tensor) -> None:
    if x.dim() != 3:
        raise ValueError(f'boundary_max_pool_1d: x must be [B, C, T], got {tuple(x.shape)}')
    if segments.dim() != 3 or segments.size(-1) != 4 or segments.size(0) != x.size(0):
        raise ValueError('boundary_max_pool_1d: segments must be [B, K, 4] with the batch size '
                         f'of x, got {tuple(segments.shape)} for x {tuple(x.shape)}')
    if x.size(1) % 2 != 0:
        raise ValueError(f'boundary_max_pool_1d: C must be even, got C={x.size(1)}')
    if x.size(2) == 0 and x.size(0) * x.size(1) * segments.size(1) > 0:
        raise ValueError('boundary_max_pool_1d: T must be >= 1')


def segment_bounds(segments: Tensor, T: int):
    """Integer bounds ``(l, r)`` [B, K, 2 (start/end half)] with ``r >= l``.

    ``l = trunc(a)``, ``r = trunc(b)`` clamped to ``[0, T-1]`` (NaN -> 0); ``r < l`` pools ``x[l]``.
    """
    s = torch.nan_to_num(segments, nan=0.0).clamp(0, T - 1).trunc().long()
    l = s[..., 0::2]
    r = torch.maximum(s[..., 1::2], l)
    return l, r


def boundary_max_pool_1d_reference(x: Tensor, segments: Tensor) -> Tensor:
    """Pure torch; differentiable through ``gather`` + ``max`` (gradient exactly at the argmax)."""
    B, C, T = x.shape
    K = segments.size(1)
    if B * C * K == 0:
        return x.new_zeros(B, C, K)
    seg = segments.to(device=x.device, dtype=compute_dtype(x.dtype))
    l, r = segment_bounds(seg, T)  # [B, K, 2]
    L = int((r - l).max().item()) + 1
    pos = l.unsqueeze(-1) + torch.arange(L, device=x.device)  # [B, K, 2, L]
    valid = pos <= r.unsqueeze(-1)
    pos = pos.clamp(max=T - 1)
    half = C // 2
    outs = []
    for h in range(2):
        xh = x[:, h * half:(h + 1) * half]  # [B, C/2, T]
        idx = pos[:, :, h].reshape(B, 1, K * L).expand(B, half, K * L)
        vals = xh.gather(2, idx).view(B, half, K, L)
        neg = torch.tensor(float('-inf'), dtype=x.dtype, device=x.device)
        vals = torch.where(valid[:, :, h].view(B, 1, K, L), vals, neg)
        outs.append(vals.max(dim=-1).values)  # first index on ties
    return torch.cat(outs, dim=1)


class BoundaryMaxPool1dFunction(torch.autograd.Function):
    """Compiled boundary max pooling with an exact backward (gradient to x only)."""

    @staticmethod
    def forward(ctx, x, segments, ext):
        out, argmax = ext.boundary_max_pool_forward(x, segments)
        ctx.save_for_backward(argmax)
        ctx.ext = ext
        ctx.T = x.size(2)
        ctx.mark_non_differentiable(argmax)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (argmax, ) = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = ctx.ext.boundary_max_pool_backward(grad_out.contiguous(), argmax, ctx.T)
        return grad_x, None, None


def boundary_max_pool_1d(x: Tensor, segments: Tensor, impl: str = 'auto') -> Tensor:
    """Boundary max pooling: ``x [B, C, T]``, ``segments [B, K, 4]`` -> ``[B, C, K]``.

    Segments are (start_l, start_r, end_l, end_r). Channels ``[0, C/2)`` take the max of
    ``x[l..r]`` over (start_l, start_r), channels ``[C/2, C)`` over (end_l, end_r), with
    ``l = trunc(a)``, ``r = trunc(b)`` clamped to ``[0, T-1]``; ``r < l`` gives ``x[l]``; ties
    take the first index. The gradient flows to ``x`` only, exactly at the argmax, for any K, T.
    Segments of another dtype (AMP) are cast. Half/bfloat16 inputs are computed in float32.
    """
    _check(x, segments)
    ext = resolve(impl, x.device, 'boundary_max_pool_1d')
    dtype = x.dtype
    cdt = compute_dtype(dtype)
    xc = x.to(cdt)
    seg = segments.detach().to(device=x.device, dtype=cdt)
    if ext is None:
        out = boundary_max_pool_1d_reference(xc, seg)
    else:
        out = BoundaryMaxPool1dFunction.apply(xc, seg, ext)
    return out.to(dtype)


class BoundaryMaxPool1d(nn.Module):
    """Module form of :func:`boundary_max_pool_1d`."""

    def __init__(self, impl: str = 'auto') -> None:
        super().__init__()
        self.impl = impl

    def forward(self, x: Tensor, segments: Tensor) -> Tensor:
        return boundary_max_pool_1d(x, segments, impl=self.impl)

    def extra_repr(self) -> str:
        return f'impl={self.impl!r}'
