"""1D RoIAlign, compiled and pure-torch reference."""

import torch
from torch import Tensor, nn

from ._loader import compute_dtype, resolve

_CHUNK_ELEMS = 1 << 23  # bound on gathered elements per step of the reference

def _check(x: Tensor, rois: Tensor, output_size: int) -> None:
    if x.dim() != 3:
        raise ValueError(f'roi_align_1d: x must be [B, C, T], got {tuple(x.shape)}')
    if rois.dim() != 2 or rois.size(1) != 3:
        raise ValueError(f'roi_align_1d: rois must be [N, 3] (batch_index, start, end), got '
                         f'{tuple(rois.shape)}')
    if int(output_size) < 1:
        raise ValueError(f'roi_align_1d: output_size must be >= 1, got {output_size}')
    if x.size(2) == 0 and rois.size(0) * x.size(1) > 0:
        raise ValueError('roi_align_1d: T must be >= 1')

def interp_weights(t: Tensor, T: int):
    """Neighbours and weights of coordinates ``t`` (METHODS.md rule), all shaped like ``t``."""
    outside = (t < -1) | (t > T)
    tc = t.clamp(min=0)
    lo = tc.floor()
    at_end = lo >= T - 1
    lo = torch.where(at_end, torch.full_like(lo, T - 1), lo)
    frac = torch.where(at_end, torch.zeros_like(tc), tc - lo)
    wl = 1 - frac
    wh = frac
    zero = torch.zeros_like(wl)
    wl = torch.where(outside, zero, wl)
    wh = torch.where(outside, zero, wh)
    lo = torch.where(outside, torch.zeros_like(lo), lo).long()
    hi = torch.where(at_end | outside, lo, lo + 1)
    return lo, hi, wl, wh

def roi_geometry(rois: Tensor, B: int, P: int, sampling_ratio: int, aligned: bool):
    """Per roi: batch index, validity, shifted start, bin width and samples per bin ``G``."""
    bidx = rois[:, 0]
    valid = (bidx >= 0) & (bidx < B)
    b = torch.where(valid, bidx, torch.zeros_like(bidx)).long()
    offset = 0.5 if aligned else 0.0
    start = rois[:, 1] - offset
    end = rois[:, 2] - offset
    length = torch.clamp(end - start, min=1)
    bin_w = length / P
    if sampling_ratio > 0:
        G = torch.full_like(b, int(sampling_ratio))
    else:
        G = torch.ceil(length / P).long().clamp(min=1)
    return b, valid, start, bin_w, G

def roi_align_1d_reference(x: Tensor, rois: Tensor, output_size: int, sampling_ratio: int = 0,
                           aligned: bool = False) -> Tensor:
    """Pure torch (vectorised per samples-per-bin group, memory-bounded chunks); differentiable
    in ``x`` through ``index_select`` (gradient = ``weight * grad / G`` to both neighbours)."""
    B, C, T = x.shape
    N, P = rois.size(0), int(output_size)
    if N == 0 or C == 0:
        return x.new_zeros(N, C, P)
    rois = rois.to(device=x.device, dtype=x.dtype)
    b, valid, start, bin_w, G = roi_geometry(rois, B, P, sampling_ratio, aligned)
    xf = x.permute(0, 2, 1).reshape(B * T, C)  # row b*T + t
    pieces, order = [], []
    p_ar = torch.arange(P, device=x.device, dtype=x.dtype)
    for g in torch.unique(G).tolist():
        gidx = torch.nonzero(G == g).flatten()
        step = max(1, _CHUNK_ELEMS // max(1, P * g * C))
        g_ar = torch.arange(g, device=x.device, dtype=x.dtype) + 0.5
        for s0 in range(0, gidx.numel(), step):
            idx = gidx[s0:s0 + step]
            st = start[idx].view(-1, 1, 1)
            bw = bin_w[idx].view(-1, 1, 1)
            t = (st + p_ar.view(1, -1, 1) * bw) + g_ar.view(1, 1, -1) * bw / g  # [n, P, g]
            lo, hi, wl, wh = interp_weights(t, T)
            keep = valid[idx].view(-1, 1, 1).to(x.dtype)
            row0 = (b[idx] * T).view(-1, 1, 1)
            v_lo = xf.index_select(0, (row0 + lo).flatten()).view(*t.shape, C)
            v_hi = xf.index_select(0, (row0 + hi).flatten()).view(*t.shape, C)
            val = (v_lo * (wl * keep).unsqueeze(-1) + v_hi * (wh * keep).unsqueeze(-1)).sum(2) / g
            pieces.append(val.permute(0, 2, 1))  # [n, C, P]
            order.append(idx)
    out = torch.cat(pieces, 0)
    inv = torch.empty(N, dtype=torch.long, device=x.device)
    inv[torch.cat(order)] = torch.arange(N, device=x.device)
    return out.index_select(0, inv)

class RoIAlign1dFunction(torch.autograd.Function):
    """Compiled 1D RoIAlign; gradient to x only."""

    @staticmethod
    def forward(ctx, x, rois, output_size, sampling_ratio, aligned, ext):
        out = ext.roi_align_1d_forward(x, rois, int(output_size), int(sampling_ratio),
                                       bool(aligned))
        ctx.save_for_backward(rois)
        ctx.meta = (x.size(0), x.size(2), int(sampling_ratio), bool(aligned), ext)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (rois, ) = ctx.saved_tensors
        B, T, sr, aligned, ext = ctx.meta
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = ext.roi_align_1d_backward(grad_out.contiguous(), rois, B, T, sr, aligned)
        return grad_x, None, None, None, None, None

def roi_align_1d(x: Tensor, rois: Tensor, output_size: int, sampling_ratio: int = 0,
                 aligned: bool = False, impl: str = 'auto') -> Tensor:
    """1D RoIAlign: ``x [B, C, T]``, ``rois [N, 3]`` (batch_index, start, end) -> ``[N, C, P]``.

    Bin ``p``: ``len = max(end - start, 1)``, ``bin = len / P``, ``G = sampling_ratio`` if > 0
    else ``ceil(len / P)`` samples at ``start + p*bin + (i + 0.5)*bin/G``, averaged; linear
    interpolation with ``t < -1 or t > T -> 0``, ``t <= 0 -> x[0]``, ``floor(t) >= T-1 ->
    x[T-1]``. ``aligned=True`` shifts roi coordinates by -0.5. Rois with an invalid batch index
    give zeros. Gradient to ``x`` only. Half/bfloat16 are computed in float32.
    """
    _check(x, rois, output_size)
    ext = resolve(impl, x.device, 'roi_align_1d')
    dtype = x.dtype
    cdt = compute_dtype(dtype)
    xc = x.to(cdt)
    r = rois.detach().to(device=x.device, dtype=cdt)
    if ext is None:
        out = roi_align_1d_reference(xc, r, output_size, sampling_ratio, aligned)
    else:
        out = RoIAlign1dFunction.apply(xc, r.contiguous(), output_size, sampling_ratio, aligned,
                                       ext)
    return out.to(dtype)

class RoIAlign1d(nn.Module):
    """Module form of :func:`roi_align_1d`."""

    def __init__(self, output_size: int, sampling_ratio: int = 0, aligned: bool = False,
                 impl: str = 'auto') -> None:
        super().__init__()
        self.output_size = int(output_size)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = bool(aligned)
        self.impl = impl

    def forward(self, x: Tensor, rois: Tensor) -> Tensor:
        return roi_align_1d(x, rois, self.output_size, self.sampling_ratio, self.aligned,
                            impl=self.impl)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}, impl={self.impl!r}')
