"""RCL: query samplers, offset coder, CAR + refine head (targets, stages, local maxima, a
refine step learned on a hand-made case), the detector on both bases, configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import tadet.models  # noqa: F401
from tadet.models.post_processing.grid_candidates import boundary_scores, grid_local_maxima
from tadet.models.task_modules import grid_queries, segment_tiou
from tadet.registry import MODELS, TASK_UTILS

from tadet_testing import REPO, make_data_samples

pytestmark = pytest.mark.usefixtures('single_thread')


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- query samplers -------------------------------------------------------------------------
def test_grid_sampler_counts_layout_and_ranges():
    T = 10
    q = TASK_UTILS.build(dict(type='GridQuerySampler'))(T)
    assert q.shape == (T * (T + 1) // 2, 2)
    assert (q[:, 0] >= 0).all() and (q[:, 1] <= T).all() and (q[:, 1] > q[:, 0]).all()
    assert torch.equal(q, q.round())
    assert len({tuple(r) for r in q.tolist()}) == q.shape[0]  # every cell once
    # capped duration: d = 1, 2, 3 -> 10 + 9 + 8 cells
    q3 = TASK_UTILS.build(dict(type='GridQuerySampler', max_duration=3))(T)
    assert q3.shape[0] == 27 and (q3[:, 1] - q3[:, 0]).max() == 3
    # the (duration - 1, start) index of grid_queries addresses a [D, T] map
    queries, index = grid_queries(T, 3)
    torch.testing.assert_close(queries[:, 0], index[:, 1].float())
    torch.testing.assert_close(queries[:, 1] - queries[:, 0], index[:, 0].float() + 1)
    # random subset
    sub = TASK_UTILS.build(dict(type='GridQuerySampler', max_num=7))(T, None, gen())
    assert sub.shape == (7, 2)
    assert {tuple(r) for r in sub.tolist()} <= {tuple(r) for r in q.tolist()}


def test_random_sampler_jitters_around_the_grid():
    T = 12
    sampler = TASK_UTILS.build(dict(type='RandomQuerySampler', jitter=0.2, min_length=0.5))
    q = sampler(T, None, gen())
    assert q.shape == (T * (T + 1) // 2, 2)  # as many as the grid
    assert (q >= 0).all() and (q <= T).all()
    assert ((q[:, 1] - q[:, 0]) >= 0.5 - 1e-6).all()
    # continuous, but every boundary within the jitter of a grid point
    assert not torch.equal(q, q.round())
    assert ((q - q.round()).abs() <= 0.2 + 1e-6).all()
    # a different draw gives different queries; max_num caps the count
    assert not torch.equal(q, sampler(T, None, gen(1)))
    capped = TASK_UTILS.build(dict(type='RandomQuerySampler', max_duration=4, max_num=5))
    q5 = capped(T, None, gen())
    assert q5.shape == (5, 2) and ((q5[:, 1] - q5[:, 0]) <= 4 + 2 * 0.5).all()


def test_scale_invariant_sampler_spread_follows_gt_length():
    T = 400
    gts = torch.tensor([[100., 104.], [200., 280.]])  # lengths 4 and 80
    sampler = TASK_UTILS.build(dict(type='ScaleInvariantQuerySampler', num_per_gt=500,
                                    spread=0.25))
    q = sampler(T, gts, gen())
    assert q.shape == (1000, 2)
    short, long_ = q[:500], q[500:]
    for part, g in ((short, gts[0]), (long_, gts[1])):
        dev = (part - g) / (g[1] - g[0])
        assert (dev.abs() <= 0.25 + 1e-6).all()  # within the relative spread
        assert dev.abs().max() > 0.2  # and filling it
        assert abs(float(dev.mean())) < 0.03
    # the same relative spread: absolute spreads scale with the length (80 / 4 = 20)
    ratio = (long_ - gts[1]).std() / (short - gts[0]).std()
    assert 17 < float(ratio) < 23
    # the same relative quality for short and long actions
    iou_s = segment_tiou(short, gts[:1]).mean()
    iou_l = segment_tiou(long_, gts[1:]).mean()
    assert abs(float(iou_s - iou_l)) < 0.03
    # clamped to the window; no ground truth -> no query
    edge = sampler(50, torch.tensor([[0., 40.]]), gen())
    assert (edge >= 0).all() and (edge <= 50).all() and (edge[:, 1] > edge[:, 0]).all()
    assert sampler(50, torch.zeros((0, 2))).shape == (0, 2)


def test_sampler_validation():
    with pytest.raises(ValueError, match='max_num'):
        TASK_UTILS.build(dict(type='GridQuerySampler', max_num=0))
    with pytest.raises(TypeError, match='bogus'):
        TASK_UTILS.build(dict(type='ScaleInvariantQuerySampler', bogus=1))


# -- offset coder ---------------------------------------------------------------------------
def test_offset_coder_round_trip_and_values():
    coder = TASK_UTILS.build(dict(type='LengthOffsetSegmentCoder', max_delta=4.0))
    q = torch.tensor([[10., 20.], [0., 4.], [3.5, 3.75]])
    g = torch.tensor([[12., 17.], [1., 6.], [3.0, 4.0]])
    d = coder.encode(q, g)
    # x* = x + dx * (xe - xs)
    torch.testing.assert_close(d[0], torch.tensor([0.2, -0.3]))
    torch.testing.assert_close(d[1], torch.tensor([0.25, 0.5]))
    torch.testing.assert_close(coder.decode(q, d), g)
    g_rand = q + torch.randn(3, 2, generator=gen()) * 0.5
    torch.testing.assert_close(coder.decode(q, coder.encode(q, g_rand)), g_rand)
    # decoding clamps wild offsets
    far = coder.decode(q[:1], torch.tensor([[100., -100.]]))
    torch.testing.assert_close(far, torch.tensor([[50., -20.]]))


# -- head -----------------------------------------------------------------------------------
def head_cfg(**kw):
    ch = kw.get('in_channels', 8)
    cfg = dict(type='RCLHead', in_channels=ch, roi_channels=8, hidden_channels=32,
               tem_head=dict(type='TEMHead', in_channels=ch, feat_channels=ch),
               proposal_align=dict(type='ProposalAlign1d', inner_bins=4, context_bins=4,
                                   context_ratio=0.5, sampling_ratio=2),
               coord_num_freqs=2, num_iters=1,
               query_samplers=[dict(type='GridQuerySampler', max_duration=24, max_num=64),
                               dict(type='RandomQuerySampler', max_duration=24, max_num=64),
                               dict(type='ScaleInvariantQuerySampler', num_per_gt=32,
                                    spread=0.5)],
               test_max_duration=32)
    cfg.update(kw)
    return cfg


def window_feats(T=64, gts=((20., 36.),), seed=0):
    """Features with boundary evidence: a step up inside each action and spikes on its
    boundaries, so a small head can localise it."""
    g = gen(seed)
    x = torch.randn(1, 8, T, generator=g) * 0.1
    for s, e in gts:
        x[0, 0, int(s):int(e)] += 1.0
        x[0, 1, int(s)] += 2.0
        x[0, 2, int(e) - 1] += 2.0
    return x


def test_head_targets_and_stages():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(num_iters=2))
    q = torch.tensor([[20., 36.], [22., 36.], [0., 4.], [10., 26.]])
    gts = [torch.tensor([[20., 36.]]), torch.zeros((0, 2))]
    iou, off, mask = head.targets(q, torch.tensor([0, 0, 0, 1]), gts)
    torch.testing.assert_close(iou, torch.tensor([1.0, 14 / 16, 0.0, 0.0]))
    torch.testing.assert_close(off[1], torch.tensor([-2 / 14, 0.0]))
    assert off[2:].abs().sum() == 0  # negatives get no offset target
    assert mask.tolist() == [True, True, False, False]
    x = head.reduce_features(torch.randn(2, 8, 64))
    stages = head.forward_stages(x, q, torch.tensor([0, 0, 0, 1]), torch.full((4,), 64.))
    assert len(stages) == 3 and all(o.shape == (4, 4) for _, o in stages)
    torch.testing.assert_close(stages[0][0], q)
    # CAR only: one stage, no refine parameters
    car = MODELS.build(head_cfg(num_iters=0))
    assert not hasattr(car, 'gru')
    assert len(car.forward_stages(car.reduce_features(torch.randn(1, 8, 64)), q[:2],
                                  torch.zeros(2).long(), torch.full((2,), 64.))) == 1
    with pytest.raises(TypeError, match='bogus'):
        MODELS.build(head_cfg(bogus=1))


def test_iteration_loss_weights():
    """Stage m of 0..M weighs alpha ** (M - m): with a huge alpha gap the loss follows."""
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(num_iters=1, iter_loss_decay=1.0))
    feats, masks = window_feats(), torch.ones(1, 64, dtype=torch.bool)
    gts = samples([([[20., 36.]], [0])])
    torch.manual_seed(1)
    full = head.loss(feats, masks, gts)
    head.iter_loss_decay = 1e-6  # stage 0 (CAR) ~ 0, stage 1 (refine) weight 1
    torch.manual_seed(1)
    last = head.loss(feats, masks, gts)
    assert set(full) == {'loss_start', 'loss_end', 'loss_rcl_cls', 'loss_rcl_reg',
                         'loss_rcl_offset'}  # the head's TEM losses too
    full = {k: float(v.detach()) for k, v in full.items() if k.startswith('loss_rcl')}
    last = {k: float(v.detach()) for k, v in last.items() if k.startswith('loss_rcl')}
    assert all(last[k] < full[k] for k in full)
    assert all(last[k] > 0.2 * full[k] for k in full)


def test_query_assigner_hand_made():
    assigner = TASK_UTILS.build(dict(type='QueryTIoUAssigner', pos_iou_thr=0.5))
    q = torch.tensor([[0., 2.], [0., 4.], [6., 9.], [20., 22.]])
    gts = torch.tensor([[0., 1.], [5., 9.]])
    res = assigner.assign(q, gts, torch.tensor([3, 7]))
    # [0, 2] vs [0, 1]: exactly 0.5, positive (inclusive); [0, 4]: 0.25; [6, 9] vs [5, 9]: 0.75
    torch.testing.assert_close(res.max_tious, torch.tensor([0.5, 0.25, 0.75, 0.0]))
    assert res.gt_inds.tolist() == [1, 0, 2, 0] and res.labels.tolist() == [3, -1, 7, -1]
    none = assigner.assign(q, torch.zeros((0, 2)))
    assert none.gt_inds.abs().sum() == 0 and none.max_tious.abs().sum() == 0


def test_local_maxima_on_the_grid_map():
    head = MODELS.build(head_cfg())
    queries, cell = grid_queries(6, 3)
    scores = torch.full((queries.shape[0],), 0.1)
    peaks = [(0, 1), (2, 3)]  # (duration - 1, start)
    for i, (d, s) in enumerate(peaks):
        scores[(cell[:, 0] == d) & (cell[:, 1] == s)] = 0.9 - 0.1 * i
    scores[(cell[:, 0] == 1) & (cell[:, 1] == 1)] = 0.5  # neighbour of both peaks
    keep = grid_local_maxima(scores, cell, torch.zeros_like(scores).long(), 1, 6,
                             head.local_max_kernel)
    kept = {tuple(cell[k].tolist()) for k in keep}
    assert set(peaks) <= kept
    assert (1, 1) not in kept and (0, 2) not in kept


def test_one_refine_iteration_moves_queries_toward_the_gt():
    """Train the refine module of a tiny head on one hand-made window with the CAR frozen at
    its "no move" initialisation, so the refine iteration receives the sampled queries
    themselves; afterwards one iteration brings fresh queries closer to the ground truth."""
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(num_iters=1))
    for p in list(head.car.parameters()) + list(head.car_out.parameters()):
        p.requires_grad_(False)
    gt = torch.tensor([[20., 36.]])
    feats, masks = window_feats(), torch.ones(1, 64, dtype=torch.bool)
    data = samples([(gt.tolist(), [0])])
    opt = torch.optim.Adam([p for p in head.parameters() if p.requires_grad], lr=5e-3)
    for _ in range(150):
        loss = sum(head.loss(feats, masks, data).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    # fresh queries around the gt (a different draw from training)
    q = TASK_UTILS.build(dict(type='ScaleInvariantQuerySampler', num_per_gt=200,
                              spread=0.4))(64, gt, gen(123))
    lengths = torch.full((len(q),), 64.)
    with torch.no_grad():
        stages = head.forward_stages(head.reduce_features(feats), q, torch.zeros(len(q)).long(),
                                     lengths)
        q1, out1 = stages[1]  # input and output of the refine iteration
        moved = head.update_queries(q1, out1, lengths)
    before = segment_tiou(q1, gt).squeeze(1)
    # the frozen CAR barely moves them
    assert (q1 - q).abs().max() < 0.5
    assert abs(float(before.mean() - segment_tiou(q, gt).mean())) < 0.02
    after = segment_tiou(moved, gt).squeeze(1)
    assert float(after.mean()) > float(before.mean()) + 0.1
    assert float((after > before).float().mean()) > 0.8


# -- detector -------------------------------------------------------------------------------
def rcl_cfg(neck, use_boundary_score=False, **kw):
    cfg = dict(type='RCL', encoder=neck,
               proposal_head=head_cfg(in_channels=16),
               cls_head=dict(type='SnippetClassificationHead', in_channels=16, num_classes=3,
                             feat_channels=16),
               test_cfg=dict(use_boundary_score=use_boundary_score, pre_nms_topk=500,
                             nms=dict(method='linear', iou_threshold=0.3, multiclass=True),
                             max_per_video=50))
    cfg.update(kw)
    return cfg


BMN_NECK = dict(type='BMNEncoder', in_channels=8, feat_channels=16)
GTAD_NECK = dict(type='GCNeXtEncoder', in_channels=8, feat_channels=16)


def samples(gts, T=64):
    return make_data_samples(gts, T)


@pytest.mark.parametrize('neck', [BMN_NECK, GTAD_NECK], ids=['bmn', 'gtad'])
def test_rcl_train_step_and_predict(neck):
    torch.manual_seed(0)
    model = MODELS.build(rcl_cfg(neck))
    gts = [([[10., 30.], [40., 44.]], [0, 2]), ([[5., 60.]], [1])]
    x = torch.cat([window_feats(64, [(10., 30.), (40., 44.)]),
                   window_feats(64, [(5., 60.)], seed=1)])
    masks = torch.ones(2, 64, dtype=torch.bool)
    masks[1, 56:] = False
    data = samples(gts)
    losses = model(x, masks, data, mode='loss')
    assert set(losses) == {'loss_start', 'loss_end', 'loss_rcl_cls', 'loss_rcl_reg',
                           'loss_rcl_offset', 'loss_snippet_cls'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name in ('encoder', 'proposal_head.tem_head', 'proposal_head', 'cls_head'):
        grads = [p.grad for p in model.get_submodule(name).parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    model.eval()
    cands = model.predict_window(x, masks)
    assert len(cands) == 2
    for c, valid in zip(cands, (64, 56)):
        assert c['segments'].shape[0] == c['scores'].shape[0] == c['labels'].shape[0] > 0
        assert (c['segments'] >= 0).all() and (c['segments'] <= valid).all()
        assert ((c['labels'] >= 0) & (c['labels'] < 3)).all()
    out = model(x, masks, samples(gts), mode='predict')
    inst = out[0].pred_instances
    assert len(inst.scores) <= 50 and (inst.scores[:-1] >= inst.scores[1:]).all()


def test_rcl_class_agnostic_and_boundary_score():
    torch.manual_seed(0)
    model = MODELS.build(rcl_cfg(BMN_NECK, cls_head=None, use_boundary_score=True)).eval()
    x = window_feats(64, [(10., 30.)])
    c = model.predict_window(x, torch.ones(1, 64, dtype=torch.bool))[0]
    assert (c['labels'] == 0).all()
    plain = MODELS.build(rcl_cfg(BMN_NECK, cls_head=None)).eval()
    plain.load_state_dict(model.state_dict())
    c0 = plain.predict_window(x, torch.ones(1, 64, dtype=torch.bool))[0]
    torch.testing.assert_close(c0['segments'], c['segments'])
    assert (c['scores'] < c0['scores']).all()  # times start * end probabilities (< 1)
    with pytest.raises(ValueError, match='train_cfg'):
        MODELS.build(rcl_cfg(BMN_NECK, train_cfg=dict(bogus=1)))
    with pytest.raises(TypeError, match='use_boundary_score'):  # now a test_cfg key
        MODELS.build(dict(rcl_cfg(BMN_NECK), use_boundary_score=True))


def test_rcl_old_checkpoint_layout_loads():
    torch.manual_seed(0)
    model = MODELS.build(rcl_cfg(BMN_NECK))
    old = {}
    for k, v in model.state_dict().items():  # the former tem_head / roi_head layout
        if k.startswith('proposal_head.tem_head.'):
            k = 'tem_head.' + k[len('proposal_head.tem_head.'):]
        elif k.startswith('proposal_head.'):
            k = 'roi_head.' + k[len('proposal_head.'):]
        old[k] = v.clone() + 1
    model.load_state_dict(old)
    torch.testing.assert_close(model.proposal_head.car_out.bias, old['roi_head.car_out.bias'])
    torch.testing.assert_close(model.proposal_head.tem_head.end_branch[-1].bias,
                               old['tem_head.end_branch.1.bias'])


def test_boundary_scores_interpolate_the_tem_convention():
    start = torch.tensor([0.0, 1.0, 0.0, 0.0])
    end = torch.tensor([0.0, 0.0, 0.5, 1.0])
    # start read at xs, end at xe - 1 (end[t] is a boundary at t + 1)
    segs = torch.tensor([[1.0, 4.0], [1.5, 3.5], [0.0, 1.0]])
    torch.testing.assert_close(boundary_scores(start, end, segs),
                               torch.tensor([1.0, 0.5 * 0.75, 0.0]))


def test_configs_build():
    files = sorted(glob.glob(osp.join(REPO, 'configs/rcl/*.py')))
    assert len(files) >= 6
    for f in files:
        cfg = Config.fromfile(f)
        if cfg.model.test_cfg.get('external_classifier'):  # score file not on this machine
            cfg.model.test_cfg.external_classifier = None
        model = MODELS.build(cfg.model)
        assert model.proposal_head.num_iters == (0 if 'car_only' in f else 2), f
        assert type(model.encoder).__name__ == ('GCNeXtEncoder' if '_gtad_' in f
                                             else 'BMNEncoder'), f
