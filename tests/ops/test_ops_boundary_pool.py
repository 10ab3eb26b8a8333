"""Boundary max pooling: compiled vs reference vs a brute-force transcription of METHODS.md."""
import math

import pytest
import torch

from tadet.ops import BoundaryMaxPool1d, boundary_max_pool_1d


def brute_force(x, seg):
    """Loops over the definition; returns (out, argmax) as nested python results."""
    B, C, T = x.shape
    K = seg.shape[1]
    out = torch.zeros(B, C, K, dtype=x.dtype)
    arg = torch.zeros(B, C, K, dtype=torch.long)

    def idx(a):
        a = float(a)
        if math.isnan(a):
            return 0
        a = max(0.0, min(a, T - 1.0))
        return int(math.trunc(a))

    for b in range(B):
        for c in range(C):
            off = 0 if c < C // 2 else 2
            for k in range(K):
                l, r = idx(seg[b, k, off]), idx(seg[b, k, off + 1])
                best, bi = x[b, c, l].item(), l
                for t in range(l + 1, r + 1):
                    if x[b, c, t].item() > best:
                        best, bi = x[b, c, t].item(), t
                out[b, c, k] = best
                arg[b, c, k] = bi
    return out, arg


def distinct_x(B, C, T, dtype=torch.float64, gen=None):
    """Values spaced by >= 1e-2 (no ties, safe for gradcheck's finite differences)."""
    n = B * C * T
    return (torch.randperm(n, generator=gen).to(dtype) * 1e-2 - n * 5e-3).view(B, C, T)


def random_segments(B, K, T, gen):
    """Mix of normal, reversed, out-of-range and empty-width segments."""
    seg = torch.rand(B, K, 4, generator=gen, dtype=torch.float64) * (T + 8) - 4
    seg[..., 1] = torch.where(torch.rand(B, K, generator=gen) < 0.8, seg[..., 0].abs() +
                              torch.rand(B, K, generator=gen, dtype=torch.float64) * T / 2,
                              seg[..., 1])
    return seg


IMPLS = ['reference', 'compiled']


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_brute_force_and_grad_routing(impl, dtype, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')
    gen = torch.Generator().manual_seed(0)
    for B, C, T, K in [(1, 4, 20, 3), (2, 6, 9, 15), (3, 2, 1, 4), (2, 8, 33, 33), (1, 4, 50, 7)]:
        x = distinct_x(B, C, T, dtype, gen).requires_grad_(True)
        seg = random_segments(B, K, T, gen)
        out = boundary_max_pool_1d(x, seg, impl=impl)
        ref, arg = brute_force(x.detach(), seg)
        assert out.shape == (B, C, K) and out.dtype == dtype
        torch.testing.assert_close(out.detach(), ref, rtol=0, atol=0)
        g = torch.randn(B, C, K, generator=gen, dtype=torch.float64).to(dtype)
        (gx, ) = torch.autograd.grad(out, x, g)
        expected = torch.zeros(B, C, T, dtype=dtype).scatter_add_(2, arg, g)
        torch.testing.assert_close(gx, expected)


def test_compiled_vs_reference_random(ext):
    gen = torch.Generator().manual_seed(1)
    for trial in range(12):
        B = int(torch.randint(1, 4, (1, ), generator=gen))
        C = 2 * int(torch.randint(1, 9, (1, ), generator=gen))
        T = int(torch.randint(1, 70, (1, ), generator=gen))
        K = int(torch.randint(0, 40, (1, ), generator=gen))
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(B, C, T, generator=gen, dtype=dtype)
            # integer-valued data with ties: both implementations take the first index
            if trial % 3 == 0:
                x = torch.randint(0, 3, (B, C, T), generator=gen).to(dtype)
            x.requires_grad_(True)
            seg = random_segments(B, K, T, gen).round()
            a = boundary_max_pool_1d(x, seg, impl='compiled')
            b = boundary_max_pool_1d(x, seg, impl='reference')
            torch.testing.assert_close(a, b, rtol=0, atol=0)
            if a.numel():
                g = torch.randn(a.shape, generator=gen, dtype=dtype)
                ga = torch.autograd.grad(a, x, g)[0]
                gb = torch.autograd.grad(b, x, g)[0]
                torch.testing.assert_close(ga, gb)


@pytest.mark.parametrize('impl', IMPLS)
def test_gradcheck_k_ne_t(impl, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')
    gen = torch.Generator().manual_seed(2)
    for B, C, T, K in [(2, 4, 12, 5), (1, 2, 6, 14), (1, 4, 1, 3)]:
        x = distinct_x(B, C, T, torch.float64, gen).requires_grad_(True)
        seg = random_segments(B, K, T, gen)
        assert torch.autograd.gradcheck(lambda v: boundary_max_pool_1d(v, seg, impl=impl), (x, ))


@pytest.mark.parametrize('impl', IMPLS)
def test_grad_uses_t_not_k(impl, request):
    """The public AFSD backward indexes rows with K: with K != T it hits wrong positions."""
    if impl == 'compiled':
        request.getfixturevalue('ext')
    T, K = 10, 3
    x = torch.arange(2 * 2 * T, dtype=torch.float64).view(2, 2, T).requires_grad_(True)
    seg = torch.tensor([[[0, 4, 5, 9]] * K, [[2, 3, 1, 1]] * K], dtype=torch.float64)
    out = boundary_max_pool_1d(x, seg, impl=impl)
    out.sum().backward()
    expected = torch.zeros(2, 2, T, dtype=torch.float64)
    expected[0, 0, 4] = K  # increasing data: max at the right end
    expected[0, 1, 9] = K
    expected[1, 0, 3] = K
    expected[1, 1, 1] = K
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize('impl', IMPLS)
def test_edge_cases(impl, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')
    x = torch.tensor([[[1., 5., 2., 7.], [3., 0., 4., 1.]]])
    seg = torch.tensor([[[2.9, 0.2, 1.0, 3.7],   # reversed start range -> x[2]; end 1..3
                         [-5., -1., 9., 20.],    # fully left / fully right
                         [float('nan'), 1.5, 3.0, 3.0]]])
    out = boundary_max_pool_1d(x, seg, impl=impl)
    torch.testing.assert_close(out, torch.tensor([[[2., 1., 5.], [4., 1., 1.]]]))
    # K = 0 and B = 0
    assert boundary_max_pool_1d(x, seg[:, :0], impl=impl).shape == (1, 2, 0)
    assert boundary_max_pool_1d(x[:0], seg[:0], impl=impl).shape == (0, 2, 3)
    with pytest.raises(ValueError):
        boundary_max_pool_1d(x[:, :1], seg, impl=impl)  # odd C


@pytest.mark.parametrize('impl', IMPLS)
def test_dtypes_noncontiguous_module(impl, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(2, 20, 6, generator=gen)
    x = base.transpose(1, 2)  # [2, 6, 20], non-contiguous
    assert not x.is_contiguous()
    seg = random_segments(2, 5, 20, gen).round()
    ref = boundary_max_pool_1d(x.contiguous(), seg.float(), impl='reference')
    for seg_dtype in (torch.float16, torch.float64, torch.int64, torch.float32):
        out = boundary_max_pool_1d(x, seg.to(seg_dtype), impl=impl)
        torch.testing.assert_close(out, ref)
    for dt in (torch.float16, torch.bfloat16):
        out = boundary_max_pool_1d(x.to(dt), seg, impl=impl)
        assert out.dtype == dt
        torch.testing.assert_close(out, boundary_max_pool_1d(x.to(dt).float(), seg,
                                                              impl='reference').to(dt))
    mod = BoundaryMaxPool1d(impl=impl)
    torch.testing.assert_close(mod(x, seg), ref)


@pytest.mark.cuda
def test_cuda_matches_reference(cuda_ext):
    gen = torch.Generator().manual_seed(4)
    for B, C, T, K in [(1, 512, 256, 126), (2, 8, 16, 40), (1, 4, 1, 3)]:
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(B, C, T, generator=gen, dtype=dtype)
            seg = random_segments(B, K, T, gen).round()
            xc = x.cuda().requires_grad_(True)
            xr = x.clone().requires_grad_(True)
            a = boundary_max_pool_1d(xc, seg.cuda(), impl='compiled')
            b = boundary_max_pool_1d(xr, seg, impl='reference')
            torch.testing.assert_close(a.cpu(), b, rtol=0, atol=0)
            g = torch.randn(a.shape, generator=gen, dtype=dtype)
            ga = torch.autograd.grad(a, xc, g.cuda())[0]
            gb = torch.autograd.grad(b, xr, g)[0]
            torch.testing.assert_close(ga.cpu(), gb)
    x = distinct_x(1, 4, 9, torch.float64).cuda().requires_grad_(True)
    seg = random_segments(1, 13, 9, gen).cuda()
    assert torch.autograd.gradcheck(lambda v: boundary_max_pool_1d(v, seg, impl='compiled'),
                                    (x, ))
