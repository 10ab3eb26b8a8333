"""1D NMS / soft-NMS / batched NMS against brute-force python implementations."""
import math

import pytest
import torch

from tadet.ops import batched_nms_1d, nms_1d, segment_iou, soft_nms_1d

IMPLS = ['reference', 'compiled']


def bf_iou(a, b):
    inter = max(min(a[1], b[1]) - max(a[0], b[0]), 0.0)
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def bf_hard(segs, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        if all(bf_iou(segs[i], segs[k]) < thr for k in keep):
            keep.append(i)
    return keep, [scores[i] for i in keep]


def bf_soft(segs, scores, thr, sigma, method, min_score=0.0, max_num=-1):
    s = list(scores)
    remaining = list(range(len(s)))
    keep, kept = [], []
    while remaining:
        i = max(remaining, key=lambda j: (s[j], -j))
        if s[i] < min_score or (max_num > 0 and len(keep) >= max_num):
            break
        keep.append(i)
        kept.append(s[i])
        remaining.remove(i)
        for j in remaining:
            iou = bf_iou(segs[i], segs[j])
            if method == 'linear':
                if iou >= thr:
                    s[j] *= 1 - iou
            else:
                s[j] *= math.exp(-iou * iou / sigma)
    return keep, kept


def bf_batched(segs, scores, labels, cfg):
    c = dict(method='hard', iou_threshold=0.5, sigma=0.5, min_score=0.0, max_seg_num=-1,
             multiclass=True, voting_thresh=0.0)
    c.update(cfg)
    pre = [i for i in range(len(scores)) if scores[i] >= c['min_score']]
    groups = {}
    for i in pre:
        groups.setdefault(labels[i] if c['multiclass'] else 0, []).append(i)
    res = []  # (score, seg, label)
    for g in groups.values():
        gs = [segs[i] for i in g]
        gsc = [scores[i] for i in g]
        if c['method'] == 'hard':
            k, ks = bf_hard(gs, gsc, c['iou_threshold'])
        else:
            k, ks = bf_soft(gs, gsc, c['iou_threshold'], c['sigma'], c['method'],
                            c['min_score'])
        res += [(sc, g[j]) for j, sc in zip(k, ks)]
    res.sort(key=lambda r: -r[0])
    if c['max_seg_num'] > 0:
        res = res[:c['max_seg_num']]
    out = []
    for sc, i in res:
        seg = segs[i]
        if c['voting_thresh'] > 0:
            w = []
            for j in pre:
                if c['multiclass'] and labels[j] != labels[i]:
                    continue
                iou = bf_iou(seg, segs[j])
                if iou >= c['voting_thresh']:
                    w.append((iou * scores[j], segs[j]))
            tot = sum(a for a, _ in w)
            if tot > 0:
                seg = [sum(a * s[0] for a, s in w) / tot, sum(a * s[1] for a, s in w) / tot]
        out.append((seg, sc, labels[i]))
    return out


def make_data(n, n_cls, gen, dtype=torch.float64):
    """Clustered segments (plenty of overlap), distinct scores, some zero-length segments."""
    centres = torch.rand(max(1, n // 8), generator=gen, dtype=dtype) * 100
    c = centres[torch.randint(0, centres.numel(), (n, ), generator=gen)]
    c = c + torch.randn(n, generator=gen, dtype=dtype) * 2
    w = torch.rand(n, generator=gen, dtype=dtype) * 15
    w[::17] = 0
    segs = torch.stack([c - w / 2, c + w / 2], 1)
    scores = torch.rand(n, generator=gen, dtype=dtype)
    labels = torch.randint(0, n_cls, (n, ), generator=gen)
    return segs, scores, labels


def ctx(impl, request):
    if impl == 'compiled':
        request.getfixturevalue('ext')


def test_segment_iou():
    s = torch.tensor([[0., 10.], [5., 15.], [20., 20.], [20., 20.]])
    iou = segment_iou(s[:, None, 0], s[:, None, 1], s[None, :, 0], s[None, :, 1])
    assert iou[0, 1].item() == pytest.approx(5 / 15)
    assert iou[2, 3].item() == 0.0  # zero-length: no 0/0
    assert iou[0, 0].item() == 1.0


@pytest.mark.parametrize('impl', IMPLS)
def test_hard_nms(impl, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(0)
    for n, thr in [(1, 0.5), (50, 0.3), (300, 0.5), (300, 0.7)]:
        segs, scores, _ = make_data(n, 1, gen)
        keep = nms_1d(segs, scores, thr, impl=impl)
        assert keep.dtype == torch.long
        assert keep.tolist() == bf_hard(segs.tolist(), scores.tolist(), thr)[0]
    assert nms_1d(segs[:0], scores[:0], 0.5, impl=impl).shape == (0, )


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_soft_nms(impl, method, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(1)
    for n, thr, sigma, ms, mx in [(1, .5, .5, 0., -1), (120, .3, .5, 0., -1),
                                  (200, .5, .85, .05, -1), (200, .5, .3, 0., 25)]:
        segs, scores, _ = make_data(n, 1, gen)
        out_seg, out_sc, keep = soft_nms_1d(segs, scores, thr, sigma, method, ms, mx, impl=impl)
        k, ks = bf_soft(segs.tolist(), scores.tolist(), thr, sigma, method, ms, mx)
        assert keep.tolist() == k
        torch.testing.assert_close(out_sc, torch.tensor(ks, dtype=torch.float64))
        torch.testing.assert_close(out_seg, segs[keep])
    e = soft_nms_1d(segs[:0], scores[:0], impl=impl)
    assert e[0].shape == (0, 2) and e[1].shape == (0, ) and e[2].shape == (0, )


CFGS = [
    dict(),
    dict(method='hard', iou_threshold=0.3, multiclass=False),
    dict(method='linear', iou_threshold=0.4, min_score=0.1),
    dict(method='gaussian', sigma=0.5, max_seg_num=40),
    dict(method='gaussian', sigma=0.85, multiclass=False, min_score=0.02, max_seg_num=60),
    dict(method='hard', voting_thresh=0.6, max_seg_num=30),
    dict(method='gaussian', voting_thresh=0.75, multiclass=False),
    dict(method='linear', iou_threshold=0.5, voting_thresh=0.5, min_score=0.05),
]


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('cfg', CFGS, ids=[str(i) for i in range(len(CFGS))])
def test_batched_nms(impl, cfg, request):
    ctx(impl, request)
    gen = torch.Generator().manual_seed(2)
    segs, scores, labels = make_data(240, 4, gen)
    s, sc, lab = batched_nms_1d(segs, scores, labels, cfg, impl=impl)
    ref = bf_batched(segs.tolist(), scores.tolist(), labels.tolist(), cfg)
    assert s.shape == (len(ref), 2) and sc.shape == (len(ref), ) and lab.shape == (len(ref), )
    assert lab.dtype == labels.dtype
    assert lab.tolist() == [r[2] for r in ref]
    torch.testing.assert_close(sc, torch.tensor([r[1] for r in ref], dtype=torch.float64))
    torch.testing.assert_close(s, torch.tensor([r[0] for r in ref], dtype=torch.float64))
    assert bool((sc[:-1] >= sc[1:]).all())


def test_batched_compiled_vs_reference_float32(ext):
    gen = torch.Generator().manual_seed(3)
    segs, scores, labels = make_data(1000, 10, gen, torch.float32)
    for cfg in CFGS:
        a = batched_nms_1d(segs, scores, labels, cfg, impl='compiled')
        b = batched_nms_1d(segs, scores, labels, cfg, impl='reference')
        assert torch.equal(a[2], b[2])
        torch.testing.assert_close(a[1], b[1])
        torch.testing.assert_close(a[0], b[0])
        assert a[0].dtype == torch.float32


@pytest.mark.parametrize('impl', IMPLS)
def test_batched_cfg_and_empty(impl, request):
    ctx(impl, request)
    with pytest.raises(ValueError, match='iou_thr'):
        batched_nms_1d(torch.zeros(1, 2), torch.ones(1), torch.zeros(1, dtype=torch.long),
                       dict(iou_thr=0.5), impl=impl)
    with pytest.raises(ValueError, match='method'):
        batched_nms_1d(torch.zeros(1, 2), torch.ones(1), torch.zeros(1, dtype=torch.long),
                       dict(method='soft'), impl=impl)
    s, sc, lab = batched_nms_1d(torch.zeros(0, 2), torch.zeros(0), torch.zeros(0, dtype=torch.long),
                                dict(method='gaussian'), impl=impl)
    assert s.shape == (0, 2) and sc.shape == (0, ) and lab.shape == (0, )
    assert lab.dtype == torch.long
    # everything below min_score
    s, sc, lab = batched_nms_1d(torch.tensor([[0., 1.]]), torch.tensor([0.1]),
                                torch.tensor([3]), dict(min_score=0.5), impl=impl)
    assert s.shape == (0, 2)
    # half precision input is computed in float32 and returned in the input dtype
    s, sc, lab = batched_nms_1d(torch.tensor([[0., 1.], [0., 1.1]]).half(),
                                torch.tensor([0.9, 0.8]).half(), torch.tensor([1, 1]),
                                dict(), impl=impl)
    assert s.dtype == torch.float16 and sc.shape == (1, )


@pytest.mark.cuda
def test_cuda_inputs(ext):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    gen = torch.Generator().manual_seed(4)
    segs, scores, labels = make_data(500, 5, gen, torch.float32)
    for cfg in CFGS:
        a = batched_nms_1d(segs.cuda(), scores.cuda(), labels.cuda(), cfg, impl='compiled')
        b = batched_nms_1d(segs, scores, labels, cfg, impl='reference')
        assert a[0].is_cuda
        torch.testing.assert_close(a[1].cpu(), b[1])
    keep = nms_1d(segs.cuda(), scores.cuda(), 0.5)
    assert keep.is_cuda and keep.tolist() == nms_1d(segs, scores, 0.5, impl='reference').tolist()


@pytest.mark.parametrize('cfg, key', [(dict(method='hard', sigma=0.3), 'sigma'),
                                      (dict(method='linear', sigma=0.3), 'sigma'),
                                      (dict(method='gaussian', iou_threshold=0.3),
                                       'iou_threshold')])
def test_key_unused_by_the_method_is_an_error(cfg, key):
    from tadet.ops import batched_nms_1d
    segs, scores = torch.tensor([[0.0, 1.0]]), torch.tensor([0.5])
    with pytest.raises(ValueError, match=key):
        batched_nms_1d(segs, scores, torch.zeros(1, dtype=torch.long), cfg)
