"""A2Net: neck, both heads (targets, losses, inference), branch switches, configs, and a
tiny end-to-end train/test run through the mmengine Runner."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import tadet.models  # noqa: F401
from tadet.registry import MODELS
from tadet.structures import SnippetGeometry

from tadet_testing import REPO, make_data_samples, make_feature_batch

CH = (16, 16, 16, 16, 16, 16)
RANGES = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4))


pytestmark = pytest.mark.usefixtures('single_thread')


def small_cfg(num_classes=3, in_channels=8, **kw):
    cfg = dict(
        type='A2Net',
        neck=dict(type='A2NetPyramidNeck', in_channels=in_channels, base_channels=16,
                  channels=CH),
        anchor_head=dict(type='A2NetAnchorHead', num_classes=num_classes, in_channels=CH),
        anchor_free_head=dict(type='A2NetAnchorFreeHead', num_classes=num_classes,
                              in_channels=CH, feat_channels=16,
                              point_generator=dict(type='PointGenerator1d',
                                                   regress_ranges=RANGES)),
        test_cfg=dict(nms=dict(method='hard', iou_threshold=0.2, multiclass=True),
                      max_per_video=100))
    cfg.update(kw)
    return cfg


def samples(gts):
    return make_data_samples(gts, 128)


GTS = [([[10., 30.], [50., 52.5]], [0, 2]), ([[60., 120.]], [1])]


def batch(seed=0):
    return make_feature_batch(GTS, 128, seed=seed, pad_first_from=112)


def test_neck_levels():
    neck = MODELS.build(dict(type='A2NetPyramidNeck', in_channels=8, base_channels=16,
                             channels=CH))
    outs = neck(torch.randn(2, 8, 128))
    assert [o.shape[-1] for o in outs] == [64, 32, 16, 8, 4, 2]
    assert all(o.shape[:2] == (2, 16) for o in outs)
    with pytest.raises(ValueError, match='multiple of 64'):
        neck(torch.randn(1, 8, 96))


def test_anchor_free_scale_assignment_per_level():
    head = MODELS.build(small_cfg()['anchor_free_head'])
    points = head.point_generator.grid_points([64, 32, 16, 8, 4, 2], 128)
    gts = torch.tensor([[10., 13.],      # length 3   -> level 0 ([0, 4))
                        [40., 60.],      # length 20  -> level 3 ([16, 32))
                        [0., 128.]])     # length 128 -> level 5 ([64, inf))
    labels, dists = head.get_targets(points, gts, torch.tensor([0, 1, 2]))
    per_level = torch.split(labels, [64, 32, 16, 8, 4, 2])
    bg = 3  # background is the last class index (num_classes)

    def fg(lvl):
        return torch.nonzero(per_level[lvl] != bg).squeeze(1).tolist()
    # level 0: points 11 (i=5) and 13 (i=6): centres 11 and 13 lie in [10, 13]
    assert fg(0) == [5, 6]
    assert (per_level[0][[5, 6]] == 0).all()
    assert fg(1) == [] and fg(2) == [] and fg(4) == []
    # level 3 (stride 16): centres 40 and 56 are inside [40, 60]
    assert fg(3) == [2, 3]
    assert (per_level[3][[2, 3]] == 1).all()
    assert (per_level[5] == 2).all()
    # distances to both ends in base units (2 window snippets) on every level, as the authors
    d = torch.split(dists, [64, 32, 16, 8, 4, 2])
    torch.testing.assert_close(d[0][5], torch.tensor([0.5, 1.0]))
    torch.testing.assert_close(d[3][3], torch.tensor([8.0, 2.0]))
    torch.testing.assert_close(d[5][0], torch.tensor([16.0, 48.0]))
    # earlier variant: in level strides
    head.regress_unit = 'stride'
    d = torch.split(head.get_targets(points, gts, torch.tensor([0, 1, 2]))[1],
                    [64, 32, 16, 8, 4, 2])
    torch.testing.assert_close(d[3][3], torch.tensor([1.0, 0.25]))
    torch.testing.assert_close(d[5][0], torch.tensor([0.5, 1.5]))


def test_anchor_free_shortest_gt_wins():
    head = MODELS.build(small_cfg()['anchor_free_head'])
    points = head.point_generator.grid_points([64, 32, 16, 8, 4, 2], 128)
    gts = torch.tensor([[64., 192.], [20., 110.]])  # both level 5, point at 96 in both
    labels, _ = head.get_targets(points, gts, torch.tensor([0, 1]))
    assert labels[-2:].tolist() == [1, 1]  # centre 32: only gt1; centre 96: gt1 shorter


def test_anchor_head_sampling_one_to_one():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    x, masks = batch()
    feats = model.neck(x)
    head = model.anchor_head
    anchors = head.anchors(feats, 128)
    assert anchors.shape == (126 * 5, 2)
    res = head.assigner.assign(anchors, torch.tensor(GTS[1][0]), torch.tensor(GTS[1][1]))
    # no predicted overlap above 0.5: no hard negatives, random easy ones 1:1
    pos, neg = head.sampler.sample(res, torch.zeros(len(anchors)))
    assert pos.numel() > 0 and pos.numel() == neg.numel()
    assert (res.max_tious[pos] > 0.5).all() and (res.max_tious[neg] < 0.5).all()


def test_train_step_and_predict_both_branches():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    x, masks = batch()
    data = samples(GTS)
    losses = model(x, masks, data, mode='loss')
    assert set(losses) == {'loss_ab_cls', 'loss_ab_overlap', 'loss_ab_reg', 'loss_af_cls',
                           'loss_af_reg'}
    assert all(torch.isfinite(v) for v in losses.values())
    # the configured weights reach the losses (30 * CE for AF classification)
    assert model.anchor_free_head.loss_cls.loss_weight == 30.0
    sum(losses.values()).backward()
    for head in (model.anchor_head, model.anchor_free_head):
        assert all(p.grad is not None for p in head.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        total = sum(model(x, masks, data, mode='loss').values())
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.5 * first
    model.eval()
    for head in (model.anchor_head, model.anchor_free_head):  # the per-(prior, class) variant
        head.candidates = 'per_class'
    # window level: both branches contribute (segment, class) candidates
    feats = model.extract_feat(x, masks)
    with torch.no_grad():
        ab = model.anchor_head.predict(feats, masks)
        af = model.anchor_free_head.predict(feats, masks)
        for head in (model.anchor_head, model.anchor_free_head):  # every candidate
            head.test_cfg = dict(pre_nms_topk=-1, score_thr=0.0)
        ab_all = model.anchor_head.predict(feats, masks)
        af_all = model.anchor_free_head.predict(feats, masks)
        for head in (model.anchor_head, model.anchor_free_head):
            head.test_cfg = {}
    for res in ab + af:
        assert set(res) == {'segments', 'scores', 'labels'} and res['labels'].max() < 3
    for res in ab:  # more than the default pre_nms_topk (1000): the best 1000, in order
        assert res['scores'].numel() == 1000
        assert (res['scores'][:-1] >= res['scores'][1:]).all()
    # padded positions (>= 112 in window 0) make no candidates: 3 classes per real prior
    assert ab_all[1]['scores'].numel() == 126 * 5 * 3
    assert ab_all[0]['scores'].numel() < ab_all[1]['scores'].numel()
    assert af_all[1]['scores'].numel() == 126 * 3 and af_all[0]['scores'].numel() == 110 * 3
    torch.testing.assert_close(af[0]['scores'], af_all[0]['scores'])  # fewer than 1000: all
    cands = model.predict_window(x, masks)
    assert len(cands) == 2 and set(cands[0]) == {'segments', 'scores', 'labels'}
    # the detector pools both heads' candidates, anchor-based first
    torch.testing.assert_close(cands[1]['segments'],
                               torch.cat([ab[1]['segments'], af[1]['segments']]))
    # video level, after NMS: detections of both branches survive and the best ones fit the gt
    preds = model(x, masks, samples(GTS), mode='predict')
    det = preds[1].pred_instances
    assert det.scores.numel() > 0 and (det.scores[:-1] >= det.scores[1:]).all()
    from tadet.models.task_modules import segment_tiou
    geo = SnippetGeometry(10.0, 1.0, 0.0)
    snips = geo.seconds_to_snippets(det.segments.double()).float()
    top5 = snips[:5]
    hit = (segment_tiou(top5, torch.tensor([[60., 120.]]))[:, 0] > 0.7) & (det.labels[:5] == 1)
    assert hit.any()

    def origins(branch):  # detections that are exactly one of the branch's segments
        segs = branch[1]['segments']
        return sum(bool(((segs - s).abs().max(1).values < 1e-3).any()) for s in snips)
    assert origins(ab) > 0 and origins(af) > 0


@pytest.mark.parametrize('ab,af', [(True, False), (False, True)])
def test_branch_switches(ab, af):
    model = MODELS.build(small_cfg(use_anchor_based=ab, use_anchor_free=af))
    assert (model.anchor_head is not None) == ab and (model.anchor_free_head is not None) == af
    x, masks = batch()
    losses = model(x, masks, samples(GTS), mode='loss')
    assert all(k.startswith('loss_ab') for k in losses) == ab
    assert all(k.startswith('loss_af') for k in losses) == af
    assert model.loss_heads() == [model.anchor_head if ab else model.anchor_free_head]
    out = model.predict_window(x, masks)
    assert out[0]['scores'].numel() > 0
    (raw, ) = model(x, mode='tensor')  # the built head's raw outputs only
    assert isinstance(raw, list) == ab  # anchor-based: per-level maps; anchor-free: (cls, reg)


def test_bad_config_raises():
    with pytest.raises(ValueError, match='at least one'):
        MODELS.build(small_cfg(use_anchor_based=False, use_anchor_free=False))
    with pytest.raises(ValueError, match='foo'):
        MODELS.build(small_cfg(train_cfg=dict(foo=1)))
    cfg = small_cfg()
    cfg['anchor_head']['unknown_option'] = 1
    with pytest.raises(TypeError, match='unknown_option'):
        MODELS.build(cfg)
    cfg = small_cfg()
    cfg['anchor_free_head']['point_generator']['regress_ranges'] = RANGES[:3]
    with pytest.raises(ValueError, match='regress_ranges'):
        MODELS.build(cfg)
    # the heads' old test_topk / test_score_thr moved to test_cfg.pre_nms_topk / score_thr
    cfg = small_cfg()
    cfg['anchor_head']['test_topk'] = 300
    with pytest.raises(TypeError, match='test_topk'):
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='test_topk'):
        MODELS.build(small_cfg(test_cfg=dict(test_topk=300)))
    with pytest.raises(ValueError, match='post_processing'):
        MODELS.build(small_cfg(test_cfg=dict(post_processing=dict(max_per_video=100))))


def test_test_cfg_reaches_both_heads():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg(test_cfg=dict(pre_nms_topk=7, score_thr=0.01,
                                                 max_per_video=100)))
    for head in (model.anchor_head, model.anchor_free_head):
        assert head.test_cfg == dict(pre_nms_topk=7, score_thr=0.01)
    model.eval()
    x, masks = batch()
    cands = model.predict_window(x, masks)
    # 7 candidates per head and window, every one above the threshold
    assert [c['scores'].numel() for c in cands] == [14, 14]
    assert all((c['scores'] > 0.01).all() for c in cands)


def test_tensor_mode_shapes():
    model = MODELS.build(small_cfg())
    ab, (cls, reg) = model(torch.randn(1, 8, 128), mode='tensor')
    assert [o.shape for o in ab] == [(1, 5 * (3 + 1 + 3), t) for t in (64, 32, 16, 8, 4, 2)]
    assert [c.shape for c in cls] == [(1, 4, t) for t in (64, 32, 16, 8, 4, 2)]
    assert [r.shape for r in reg] == [(1, 2, t) for t in (64, 32, 16, 8, 4, 2)]


@pytest.mark.parametrize('name', ['a2net_thumos14_i3d', 'a2net_activitynet_resize128',
                                  'a2net_thumos14_synth', 'a2net_af_only_thumos14_synth',
                                  'a2net_ab_only_thumos14_synth'])
def test_configs(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'a2net', name + '.py'))
    m = cfg.model
    assert m.type == 'A2Net'
    if name == 'a2net_thumos14_i3d':
        assert m.neck.channels == (512, 1024, 1024, 2048, 2048, 4096)
        assert m.neck.in_channels == 2048
        assert m.anchor_free_head.loss_cls.loss_weight == 30.0
        assert m.anchor_head.loss_overlap.loss_weight == 10.0
        assert m.anchor_head.loss_reg.loss_weight == 10.0
        assert m.test_cfg.sliding_window == dict(size=128, stride=64)
        assert m.test_cfg.pre_nms_topk == 300 and m.test_cfg.score_thr == 0.001
        assert 'post_processing' not in m.test_cfg
        return  # the paper-size model is not built here (hundreds of MB)
    if name == 'a2net_activitynet_resize128':
        assert m.num_classes == 200 and m.test_cfg.sliding_window is None
        assert m.test_cfg.max_per_video == 100 and m.test_cfg.pre_nms_topk == 300
        return
    model = MODELS.build(m)
    assert model.use_anchor_based == ('af_only' not in name)
    assert model.use_anchor_free == ('ab_only' not in name)


def test_end_to_end_runner(tiny_data, tmp_path):
    """Train 2 epochs and test a 4-level A2Net through mmengine's Runner on tiny data."""
    from mmengine.runner import Runner
    d = tiny_data
    ch = (16, 16, 16, 16)
    dataset = dict(type='TADDataset', ann_file=d['ann_file'], feature_root=d['feature_root'],
                   classes=d['classes'], fps=d['fps'], feature_stride=d['feature_stride'],
                   offset_frames=d['offset_frames'])
    load = dict(type='LoadFeatures', feat_dim=d['feat_dim'])
    cfg = Config(dict(
        default_scope='tadet',
        work_dir=str(tmp_path / 'work'),
        model=dict(
            type='A2Net', num_classes=d['num_classes'],
            data_preprocessor=dict(type='TADDataPreprocessor', pad_to_multiple=32),
            neck=dict(type='A2NetPyramidNeck', in_channels=d['feat_dim'], base_channels=16,
                      base_kernel=3, channels=ch, strides=(1, 2, 2, 2)),
            anchor_head=dict(type='A2NetAnchorHead', num_classes=2, in_channels=ch),
            anchor_free_head=dict(
                type='A2NetAnchorFreeHead', num_classes=2, in_channels=ch, feat_channels=16,
                point_generator=dict(type='PointGenerator1d',
                                     regress_ranges=((0, 4), (4, 8), (8, 16), (16, 1e4)))),
            test_cfg=dict(sliding_window=dict(size=32, stride=16),
                          nms=dict(method='hard', iou_threshold=0.2, multiclass=True),
                          max_per_video=50)),
        train_dataloader=dict(
            batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(dataset, subset='train', window=dict(size=32, stride=16),
                         pipeline=[load, dict(type='PadFeatures', size=32),
                                   dict(type='PackTADInputs')])),
        test_dataloader=dict(
            batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(dataset, subset='test', test_mode=True,
                         pipeline=[load, dict(type='PackTADInputs')])),
        test_evaluator=dict(type='TADMetric', tiou_thresholds=[0.3, 0.5, 0.7]),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=2),
        test_cfg=dict(type='TestLoop'),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=2)),
        randomness=dict(seed=0)))
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert 'tad/average_mAP' in metrics and 0.0 <= metrics['tad/average_mAP'] <= 1.0


def test_get_flops_tool():
    """tools/analysis/get_flops.py counts the tensor-mode forward of the synth config."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'get_flops', osp.join(REPO, 'tools', 'analysis', 'get_flops.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'a2net', 'a2net_thumos14_synth.py'))
    res = mod.count(cfg, length=128)
    assert res['in_channels'] == 64
    model = MODELS.build(cfg.model)
    assert res['params'] == sum(p.numel() for p in model.parameters())
    # the neck's first conv alone: 64 -> 64, k1, on 128 snippets
    assert res['flops'] > 64 * 64 * 128
    ab_only = mod.count(Config.fromfile(osp.join(REPO, 'configs', 'a2net',
                                                 'a2net_ab_only_thumos14_synth.py')), 128)
    assert ab_only['flops'] < res['flops']
