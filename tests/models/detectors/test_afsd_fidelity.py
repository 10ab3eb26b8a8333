"""AFSD fidelity to the authors' code (issue 16.3): refined-class loss normaliser, level-0
activation-guided BCL, boundary contrastive (contiguous chunk, boundary regions, three
features), end-to-end pyramid taps and frozen BN."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tadet.models.task_modules import afsd_boundary_bands
from tadet.models.task_modules.afsd_splice import splice_background_chunk
from tadet.registry import MODELS

from test_afsd import L, build, make_batch

init_default_scope('tadet')

pytestmark = pytest.mark.usefixtures('single_thread')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _spy(module, store, name):
    orig = module.forward

    def forward(*args, avg_factor=None, **kwargs):
        store[name] = avg_factor
        return orig(*args, avg_factor=avg_factor, **kwargs)
    module.forward = forward


@pytest.mark.parametrize('avg', ['refined', 'coarse'])
def test_refine_cls_loss_normaliser(avg):
    model = build(head=dict(refine_cls_avg=avg))
    seen = {}
    for name in ('loss_coarse_cls', 'loss_refine_cls', 'loss_refine_loc'):
        _spy(getattr(model.head, name), seen, name)
    x, masks, samples = make_batch()
    model(x, masks, samples, mode='loss')
    n_coarse, n_refined = seen['loss_coarse_cls'], seen['loss_refine_loc']
    assert n_refined < n_coarse  # refined positives: the coarse ones with tIoU >= thr
    assert seen['loss_refine_cls'] == (n_refined if avg == 'refined' else n_coarse)
    with pytest.raises(ValueError, match='refine_cls_avg'):
        build(head=dict(refine_cls_avg='all'))


def test_level0_bcl_downsampled_bands_and_weight():
    model = build()
    assert model.bcl_level0_weight == 0.1  # the authors' 0.1 x (loc + conf) on level 0
    torch.manual_seed(0)
    frame, lvl_loc, lvl_cls = torch.randn(1, 4, 16), torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    gt = [torch.tensor([[4., 12.]])]
    masks = torch.ones(1, 16, dtype=torch.bool)
    got = model._boundary_loss(frame, masks, gt, 16, [lvl_loc, lvl_cls])
    start, end = afsd_boundary_bands(gt[0], 16, 1.0, 0.1, 2.0)
    bce = model.loss_boundary
    one = torch.ones(1, 4)

    def halves(f, s, e, w):
        return bce(f[:, :f.shape[1] // 2], s, w) + bce(f[:, f.shape[1] // 2:], e, w)
    expect = halves(frame, start[None], end[None], torch.ones(1, 16))
    s0, e0 = start[None, ::4], end[None, ::4]  # nearest downsampling, as F.interpolate(1/4)
    assert s0.sum() > 0 and e0.sum() > 0
    expect = expect + 0.1 * (halves(lvl_loc, s0, e0, one) + halves(lvl_cls, s0, e0, one))
    assert torch.allclose(got, expect)
    # weight 0: the frame-level feature only (earlier behaviour)
    off = build(bcl_level0_weight=0.0)
    assert torch.allclose(off._boundary_loss(frame, masks, gt, 16, [lvl_loc, lvl_cls]),
                          halves(frame, start[None], end[None], torch.ones(1, 16)))


def test_level0_bcl_trains_the_level0_boundary_convs():
    x, masks, samples = make_batch()
    for w, reached in ((0.1, True), (0.0, False)):
        model = build(bcl_level0_weight=w, use_contrastive=False)
        model(x, masks, samples, mode='loss')['loss_bcl'].backward()
        g = model.head.refine_head.loc_branch.boundary_conv.conv.weight.grad
        assert (g is not None and g.abs().sum() > 0) == reached


def test_chunk_splice_moves_one_contiguous_background_chunk():
    x = torch.arange(L, dtype=torch.float32).repeat(1, 2, 1)
    masks = torch.ones(1, L, dtype=torch.bool)
    gt = [torch.tensor([[8., 24.], [36., 44.]])]  # th = 8; only [8, 24] is >= 2 th long
    runs = [(0, 8), (24, 36), (44, 64)]
    seen_before = seen_after = False
    for seed in range(12):
        torch.manual_seed(seed)
        spliced, smask, segs, src = splice_background_chunk(x, masks, gt, 4)
        seq = spliced[0, 0].long().tolist()
        assert sorted(seq) == list(range(L)) and smask.all() and src == [0]  # a permutation
        (a1s, a1e), (a2s, a2e), (bgs, bge) = segs[0].long().tolist()
        # A1 | background | A2, the cut at t = 16 (8 from both ends), the chunk 8 long
        assert a1e == bgs and bge == a2s and bge - bgs == 8
        assert seq[a1s:a1e] == list(range(8, 16)) and seq[a2s:a2e] == list(range(16, 24))
        bg = seq[bgs:bge]
        assert bg == list(range(bg[0], bg[0] + 8))  # contiguous
        assert any(r0 <= bg[0] and bg[-1] < r1 for r0, r1 in runs)
        seen_before |= bg[0] < 8
        seen_after |= bg[0] >= 24
    assert seen_before and seen_after
    # no action twice as long as the shortest: nothing to splice
    assert splice_background_chunk(x, masks, [torch.tensor([[8., 16.], [30., 38.]])], 4) is None


def _ramp(length, scale):
    return torch.arange(length, dtype=torch.float32).repeat(1, 4, 1) * scale


@pytest.mark.parametrize('mode', ['boundary', 'range'])
def test_contrastive_pools_regions_of_three_weighted_features(mode, monkeypatch):
    model = build(contrastive_mode=mode)
    assert model.contrastive_weights == (1.0, 0.1, 0.1)
    x, masks, samples = make_batch(b=1)
    gt = [s.gt_instances.segments for s in samples]
    # features whose value is the position: max pooling returns a region's last index
    maps = [_ramp(L, 1.0), _ramp(L, 0.5), _ramp(L // 2, 2.0)]
    monkeypatch.setattr(model, '_contrastive_features', lambda *a: maps)
    torch.manual_seed(3)
    got = model._contrastive_loss(x, masks, gt)
    torch.manual_seed(3)
    splice = model._contrastive_loss.__globals__[
        'splice_background_chunk' if mode == 'boundary' else 'splice_background_positions']
    segs = splice(x, masks, gt, model.contrastive_min_length)[2][0]
    expect = 0.0
    for w, f in zip((1.0, 0.1, 0.1), maps):
        unit = L / f.shape[-1]
        s, e = segs[:, 0] / unit - 0.5, segs[:, 1] / unit - 0.5
        if mode == 'boundary':  # end region of A1; start regions of A2 and the background
            width = e - s
            hi_end = torch.round(e + (0.1 * width).clamp(min=1))
            hi_start = torch.round(s + (0.25 * width).clamp(min=1))
        else:  # whole ranges
            hi_end = hi_start = torch.ceil(segs[:, 1] / unit) - 1
        last = f.shape[-1] - 1
        a, p, n = (float(f[0, 0, int(min(max(v, 0), last))])
                   for v in (hi_end[0], hi_start[1], hi_start[2]))
        expect += w * model.loss_contrastive(torch.full((1, 2), a), torch.full((1, 2), p),
                                             torch.full((1, 2), n))
    assert torch.allclose(got, expect)


def test_contrastive_trains_level0_boundary_convs_and_frame_only_option():
    x, masks, samples = make_batch()
    gt = [s.gt_instances.segments for s in samples]
    for weights, reached in (((1.0, 0.1, 0.1), True), ((1.0,), False)):
        model = build(contrastive_weights=weights)
        torch.manual_seed(0)
        model._contrastive_loss(x, masks, gt).backward()
        g = model.head.refine_head.cls_branch.boundary_conv.conv.weight.grad
        assert (g is not None and g.abs().sum() > 0) == reached
        assert model.frame_branch.convs[0].conv.weight.grad.abs().sum() > 0
    for bad in (dict(contrastive_weights=(1.0, 0.1)), dict(contrastive_mode='whole'),
                dict(bcl_level0_weight=-1.0)):
        with pytest.raises(ValueError):
            build(**bad)


def test_two_tap_neck():
    GN = dict(type='GN', num_groups=4)
    neck = MODELS.build(dict(type='AFSDPyramidNeck', in_channels=(6, 10), channels=8,
                             num_levels=4, norm_cfg=GN))
    t0, t1 = torch.randn(2, 6, 16), torch.randn(2, 10, 8)
    feats = neck([t0, t1])
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2]
    top = neck.levels[1](t1)
    assert torch.allclose(feats[1], top)
    assert torch.allclose(feats[0], neck.levels[0](t0) + top.repeat_interleave(2, dim=-1))
    with pytest.raises(ValueError, match='pair'):
        neck(t0)


def test_e2e_config_taps_and_frozen_bn():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/afsd/afsd_e2e_thumos14.py')).model
    bb = cfg.backbone
    assert bb.out_indices == (2, 3) and cfg.backbone_taps == (0, 1)
    assert cfg.neck.in_channels == (1024, 2048)
    assert bb.norm_eval and not bb.norm_cfg.requires_grad
    # the same layout on a tiny backbone: layer3 at T/4, layer4 at T/8, BN frozen
    GN = dict(type='GN', num_groups=4)
    small = dict(cfg, num_classes=1, neck=dict(cfg.neck, in_channels=(32, 64), channels=16,
                                               num_levels=3, norm_cfg=GN),
                 backbone=dict(bb, depth=18, base_channels=8, conv1_kernel=(3, 7, 7),
                               inflate=(1, 1, 1, 1)),
                 frame_branch=dict(cfg.frame_branch, in_channels=16, out_channels=16,
                                   norm_cfg=GN))
    small['head'] = dict(cfg.head, coarse_head=dict(cfg.head.coarse_head, in_channels=16,
                                                    feat_channels=16, num_levels=3, norm_cfg=GN),
                         refine_head=dict(cfg.head.refine_head, in_channels=16,
                                          frame_channels=16, feat_channels=16, norm_cfg=GN))
    torch.manual_seed(0)
    model = MODELS.build(small)
    model.train()
    bns = [m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm3d)]
    assert bns and all(not m.training for m in bns)
    assert all(not p.requires_grad for m in bns for p in m.parameters())
    stats = bns[0].running_mean.clone()
    frames = torch.randn(1, 3, 32, 32, 32)
    feats, frame = model.pyramid_and_frame(frames, torch.ones(1, 32, dtype=torch.bool))
    assert [f.shape[-1] for f in feats] == [8, 4, 2] and frame.shape[-1] == 32
    assert torch.equal(bns[0].running_mean, stats)
    with pytest.raises(ValueError, match='backbone_taps'):
        MODELS.build(dict(small, backbone_taps=None))
