"""1D RoIAlign: hand-computed cases, a direct transcription of METHODS.md, compiled vs reference."""
import math

import pytest
import torch

from tadet.ops import RoIAlign1d, roi_align_1d

IMPLS = ['reference', 'compiled']


def transcription(x, rois, P, sampling_ratio=0, aligned=False):
    """Direct loop transcription of the METHODS.md definition (python floats)."""
    B, C, T = x.shape
    out = torch.zeros(rois.shape[0], C, P, dtype=torch.float64)

    def sample(row, t):
        if t < -1 or t > T:
            return 0.0
        if t <= 0:
            t = 0.0
        lo = math.floor(t)
        if lo >= T - 1:
            return float(row[T - 1])
        frac = t - lo
        return (1 - frac) * float(row[lo]) + frac * float(row[lo + 1])

    for n, (b, s, e) in enumerate(rois.tolist()):
        b = int(b)
        if b < 0 or b >= B:
            continue
        if aligned:
            s, e = s - 0.5, e - 0.5
        length = max(e - s, 1.0)
        bin_w = length / P
        G = sampling_ratio if sampling_ratio > 0 else math.ceil(length / P)
        for c in range(C):
            for p in range(P):
                vals = [sample(x[b, c], s + p * bin_w + (i + 0.5) * bin_w / G) for i in range(G)]
                out[n, c, p] = sum(vals) / G
    return out


def random_rois(N, B, T, gen, dtype=torch.float64):
    b = torch.randint(0, B, (N, 1), generator=gen).to(dtype)
    s = torch.rand(N, 1, generator=gen, dtype=dtype) * (T + 6) - 3
    w = torch.rand(N, 1, generator=gen, dtype=dtype) * T * 0.8
    w[::7] = 0  # zero-length rois
    e = s + w
    r = torch.cat([b, s, e], 1)
    r[3::11, 1:] = r[3::11, 1:].flip(1)  # reversed rois
    r[5::13, 1:] += T + 3  # entirely right of the sequence
    r[6::13, 1:] -= T + 3  # entirely left
    return r


def ctx(impl, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')


@pytest.mark.parametrize('impl', IMPLS)
def test_hand_computed(impl, request):
    ctx(impl, request)
    x = torch.tensor([[[1., 3., 5., 9.]]], dtype=torch.float64, requires_grad=True)
    cases = [
        # (roi, P, sampling_ratio, aligned, expected)
        ([0, 0.5, 2.5], 2, 0, False, [3., 5.]),
        ([0, 0.5, 2.5], 2, 0, True, [2., 4.]),
        ([0, 0., 4.], 1, 2, False, [6.]),  # samples at 1 and 3 (= T-1 -> x[3])
        ([0, 4.5, 6.5], 1, 2, False, [0.]),  # samples at 5 and 6 > T: zero
        ([0, -1.5, -0.5], 1, 1, False, [1.]),  # sample at -1: clamps to x[0]
        ([0, 2., 2.], 2, 0, False, [6., 8.]),  # zero-length roi: len 1 -> 2.25, 2.75
        ([0, 3.2, 3.9], 1, 1, False, [9.]),  # floor(t) >= T-1
    ]
    for roi, P, sr, al, exp in cases:
        out = roi_align_1d(x, torch.tensor([roi], dtype=torch.float64), P, sr, al, impl=impl)
        torch.testing.assert_close(out.detach().flatten(), torch.tensor(exp, dtype=torch.float64))
    # backward of the aligned case: 2 = (x0 + x1)/2, 4 = (x1 + x2)/2
    out = roi_align_1d(x, torch.tensor([[0, 0.5, 2.5]], dtype=torch.float64), 2, 0, True,
                       impl=impl)
    (g, ) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(g.flatten(), torch.tensor([.5, 1., .5, 0.], dtype=torch.float64))


@pytest.mark.parametrize('impl', IMPLS)
def test_matches_transcription(impl, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(0)
    for B, C, T, N, P in [(2, 3, 11, 25, 4), (1, 2, 1, 10, 3), (3, 1, 30, 30, 8)]:
        x = torch.randn(B, C, T, generator=gen, dtype=torch.float64)
        rois = random_rois(N, B, T, gen)
        rois[0, 0] = B  # invalid batch index -> zeros
        for sr in (0, 1, 3):
            for al in (False, True):
                out = roi_align_1d(x, rois, P, sr, al, impl=impl)
                torch.testing.assert_close(out, transcription(x, rois, P, sr, al))


def test_compiled_vs_reference_forward_backward(ext):
    gen = torch.Generator().manual_seed(1)
    for trial in range(10):
        B = int(torch.randint(1, 4, (1, ), generator=gen))
        C = int(torch.randint(1, 12, (1, ), generator=gen))
        T = int(torch.randint(1, 80, (1, ), generator=gen))
        N = int(torch.randint(0, 60, (1, ), generator=gen))
        P = int(torch.randint(1, 17, (1, ), generator=gen))
        sr = [0, 0, 2, 4][trial % 4]
        al = bool(trial % 2)
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(B, C, T, generator=gen, dtype=dtype)
            if trial % 3 == 0:  # non-contiguous input
                x = torch.randn(B, T, C, generator=gen, dtype=dtype).transpose(1, 2)
            x.requires_grad_(True)
            rois = random_rois(N, B, T, gen, dtype)
            a = roi_align_1d(x, rois, P, sr, al, impl='compiled')
            b = roi_align_1d(x, rois, P, sr, al, impl='reference')
            assert a.shape == (N, C, P)
            torch.testing.assert_close(a, b)
            if N:
                g = torch.randn(a.shape, generator=gen, dtype=dtype)
                torch.testing.assert_close(
                    torch.autograd.grad(a, x, g)[0], torch.autograd.grad(b, x, g)[0])


@pytest.mark.parametrize('impl', IMPLS)
def test_gradcheck(impl, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    rois = random_rois(12, 2, 9, gen)
    for sr, al in [(0, False), (2, True)]:
        assert torch.autograd.gradcheck(lambda v: roi_align_1d(v, rois, 5, sr, al, impl=impl),
                                        (x, ))
    x1 = torch.randn(1, 2, 1, generator=gen, dtype=torch.float64, requires_grad=True)  # T = 1
    rois1 = random_rois(5, 1, 1, gen)
    assert torch.autograd.gradcheck(lambda v: roi_align_1d(v, rois1, 3, impl=impl), (x1, ))


@pytest.mark.parametrize('impl', IMPLS)
def test_empty_dtypes_module(impl, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 16, generator=gen)
    assert roi_align_1d(x, torch.zeros(0, 3), 6, impl=impl).shape == (0, 4, 6)
    rois = random_rois(9, 2, 16, gen, torch.float32)
    ref = roi_align_1d(x, rois, 6, impl='reference')
    torch.testing.assert_close(roi_align_1d(x, rois.double(), 6, impl=impl), ref)
    torch.testing.assert_close(roi_align_1d(x, rois.half(), 6, impl=impl),
                               roi_align_1d(x, rois.half().float(), 6, impl='reference'))
    out = roi_align_1d(x.bfloat16(), rois, 6, impl=impl)
    assert out.dtype == torch.bfloat16
    mod = RoIAlign1d(6, impl=impl)
    torch.testing.assert_close(mod(x, rois), ref)
    assert 'output_size=6' in repr(mod)


@pytest.mark.cuda
def test_cuda_matches_reference(cuda_ext):
    gen = torch.Generator().manual_seed(4)
    for B, C, T, N, P in [(1, 256, 100, 2000, 16), (2, 5, 1, 30, 3), (3, 7, 40, 100, 32)]:
        for dtype in (torch.float32, torch.float64):
            for sr, al in [(0, False), (2, True)]:
                x = torch.randn(B, C, T, generator=gen, dtype=dtype)
                rois = random_rois(N, B, T, gen, dtype)
                xc = x.cuda().requires_grad_(True)
                xr = x.clone().requires_grad_(True)
                a = roi_align_1d(xc, rois.cuda(), P, sr, al, impl='compiled')
                b = roi_align_1d(xr, rois, P, sr, al, impl='reference')
                torch.testing.assert_close(a.cpu(), b)
                g = torch.randn(a.shape, generator=gen, dtype=dtype)
                torch.testing.assert_close(
                    torch.autograd.grad(a, xc, g.cuda())[0].cpu(),
                    torch.autograd.grad(b, xr, g)[0], rtol=1e-4, atol=1e-4)
    x = torch.randn(2, 3, 9, dtype=torch.float64, device='cuda', requires_grad=True)
    rois = random_rois(12, 2, 9, gen).cuda()
    assert torch.autograd.gradcheck(lambda v: roi_align_1d(v, rois, 5, impl='compiled'), (x, ))
