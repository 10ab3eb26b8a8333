"""Benchmark tadet.ops: compiled kernels vs the pure-torch references, measured in one run.

    python tools/benchmark_ops.py            # full size grid (a few minutes on a 2-core CPU)
    python tools/benchmark_ops.py --quick    # short run
    python tools/benchmark_ops.py --device cuda

Sizes: AFSD boundary pooling (B=1, C=512, K=126, T=256 frame-level and T=64..2 pyramid levels),
SegTAD/RCL 1D RoIAlign (C=256, T=100..1000, N=2,000..20,000 rois, P=16/32) and per-class NMS
(2,000..20,000 candidates, 20 classes). Times are the best of repeated calls (ms); speedup =
reference / compiled.
"""
import argparse
import time

import torch
from terminaltables import AsciiTable

from tadet import ops


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timeit(fn, device, min_time=0.3, max_reps=20, min_reps=3):
    """Best (minimum) time of repeated calls after a warm-up call; slow calls (> 2 s) are timed
    once more only. The minimum is the least disturbed by other load on the machine."""
    t0 = time.perf_counter()
    fn()  # warm-up
    sync(device)
    if time.perf_counter() - t0 > 2.0:
        min_reps = 1
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or
                                     time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def afsd_segments(T, K, gen):
    """Boundary regions as AFSD builds them: start [s - w/10, s + w/4], end [e - w/4, e + w/10]."""
    s = torch.rand(1, K, generator=gen) * T * 0.8
    w = torch.rand(1, K, generator=gen) * (T - s) + 1
    e = s + w
    ext_s = torch.clamp(w / 10, min=1)
    ext_l = torch.clamp(w / 4, min=1)
    seg = torch.stack([s - ext_s, s + ext_l, e - ext_l, e + ext_s], -1)
    return seg.round().clamp(0, T - 1)


def random_rois(N, T, gen):
    s = torch.rand(N, generator=gen) * T * 0.9
    w = (torch.rand(N, generator=gen) * 0.45 + 0.05) * T
    return torch.stack([torch.zeros(N), s, torch.minimum(s + w, torch.tensor(float(T)))], 1)


def nms_data(N, n_cls, gen):
    c = torch.rand(N, generator=gen) * 1000
    w = torch.rand(N, generator=gen) * 60 + 2
    segs = torch.stack([c - w / 2, c + w / 2], 1)
    return segs, torch.rand(N, generator=gen), torch.randint(0, n_cls, (N, ), generator=gen)


def row(name, size, mode, fn_ref, fn_cmp, device):
    t_ref = timeit(fn_ref, device)
    t_cmp = timeit(fn_cmp, device)
    r = [name, size, mode, f'{t_ref * 1e3:.2f}', f'{t_cmp * 1e3:.2f}', f'{t_ref / t_cmp:.1f}x']
    print('  ' + ' | '.join(r), flush=True)
    return r


def bench_pool(device, quick, gen):
    rows = []
    Ts = [256, 64, 8] if quick else [256, 64, 32, 16, 8, 4, 2]
    for T in Ts:
        C, K = 512, 126
        x = torch.randn(1, C, T, generator=gen).to(device)
        seg = afsd_segments(T, K, gen).to(device)
        size = f'B=1 C={C} T={T} K={K}'
        for mode in ('fwd', 'fwd+bwd'):
            def run(impl, mode=mode, x=x, seg=seg):
                if mode == 'fwd':
                    with torch.no_grad():
                        ops.boundary_max_pool_1d(x, seg, impl=impl)
                else:
                    xr = x.detach().requires_grad_(True)
                    out = ops.boundary_max_pool_1d(xr, seg, impl=impl)
                    out.backward(torch.ones_like(out))
            rows.append(row('boundary_max_pool_1d', size, mode, lambda: run('reference'),
                            lambda: run('compiled'), device))
    return rows


def bench_roi(device, quick, gen):
    rows = []
    grid = ([(100, 2000, 16), (1000, 2000, 32)] if quick else
            [(100, 2000, 16), (100, 20000, 32), (1000, 2000, 16), (1000, 20000, 32)])
    for T, N, P in grid:
        C = 256
        x = torch.randn(1, C, T, generator=gen).to(device)
        rois = random_rois(N, T, gen).to(device)
        size = f'C={C} T={T} N={N} P={P}'
        for mode in ('fwd', 'fwd+bwd'):
            def run(impl, mode=mode, x=x, rois=rois, P=P):
                if mode == 'fwd':
                    with torch.no_grad():
                        ops.roi_align_1d(x, rois, P, aligned=True, impl=impl)
                else:
                    xr = x.detach().requires_grad_(True)
                    out = ops.roi_align_1d(xr, rois, P, aligned=True, impl=impl)
                    out.backward(torch.ones_like(out))
            rows.append(row('roi_align_1d', size, mode, lambda: run('reference'),
                            lambda: run('compiled'), device))
    return rows


def bench_nms(device, quick, gen):
    rows = []
    Ns = [2000] if quick else [2000, 20000]
    methods = ['hard', 'gaussian'] if quick else ['hard', 'linear', 'gaussian']
    for N in Ns:
        segs, scores, labels = nms_data(N, 20, gen)
        segs, scores, labels = segs.to(device), scores.to(device), labels.to(device)
        for m in methods:
            cfg = dict(method=m, iou_threshold=0.5 if m == 'hard' else 0.3, sigma=0.5)

            def run(impl, cfg=cfg, segs=segs, scores=scores, labels=labels):
                ops.batched_nms_1d(segs, scores, labels, cfg, impl=impl)
            rows.append(row('batched_nms_1d', f'N={N} 20 classes', m,
                            lambda: run('reference'), lambda: run('compiled'), device))
    if not quick:
        segs, scores, _ = nms_data(2000, 1, gen)
        segs, scores = segs.to(device), scores.to(device)
        rows.append(row('soft_nms_1d', 'N=2000 one class', 'gaussian',
                        lambda: ops.soft_nms_1d(segs, scores, 0.3, 0.5, 'gaussian',
                                                impl='reference'),
                        lambda: ops.soft_nms_1d(segs, scores, 0.3, 0.5, 'gaussian',
                                                impl='compiled'), device))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer sizes (short run)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--only', choices=['pool', 'roi', 'nms'], default=None)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    avail = ops.available()
    if not avail['cuda' if device.type == 'cuda' else 'cpu']:
        raise SystemExit(f'compiled ops not available for {device.type}: {avail}; build with '
                         '`pip install --no-build-isolation -e .`')
    gen = torch.Generator().manual_seed(0)
    print(f'torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, '
          f'ops {avail}', flush=True)
    rows = [['op', 'size', 'pass', 'reference ms', 'compiled ms', 'speedup']]
    if args.only in (None, 'pool'):
        rows += bench_pool(device, args.quick, gen)
    if args.only in (None, 'roi'):
        rows += bench_roi(device, args.quick, gen)
    if args.only in (None, 'nms'):
        rows += bench_nms(device, args.quick, gen)
    table = AsciiTable(rows)
    for i in (3, 4, 5):
        table.justify_columns[i] = 'right'
    print(table.table)


if __name__ == '__main__':
    main()
