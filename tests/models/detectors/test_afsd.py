"""AFSD: components, label assignment, losses, train/predict steps (feature mode)."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from tadet.models.layers import boundary_mean_pool_1d
from tadet.models.roi_heads import afsd_boundary_regions
from tadet.models.task_modules import (AFSDAssigner, AFSDRefineOffsetCoder,
                                       afsd_boundary_bands)
from tadet.models.task_modules.afsd_splice import splice_background_positions
from tadet.registry import MODELS

from tadet_testing import make_data_samples, make_feature_batch

init_default_scope('tadet')


pytestmark = pytest.mark.usefixtures('single_thread')



C_IN, CH, NUM_CLASSES, L = 8, 16, 3, 64
GN = dict(type='GN', num_groups=4)


REFINE = dict(type='AFSDRefineHead', num_classes=NUM_CLASSES, in_channels=CH,
              frame_channels=CH, feat_channels=CH, norm_cfg=GN)


def small_cfg(head=None, **overrides):
    """Detector config; ``head`` overrides keys of the ``AFSDHead`` config."""
    cfg = dict(
        type='AFSD', num_classes=NUM_CLASSES,
        data_preprocessor=dict(type='TADDataPreprocessor', pad_to_multiple=32),
        neck=dict(type='AFSDPyramidNeck', in_channels=C_IN, channels=CH, num_levels=6,
                  norm_cfg=GN),
        frame_branch=dict(type='AFSDFrameLevelBranch', in_channels=CH, out_channels=CH,
                          norm_cfg=GN),
        head=dict(dict(type='AFSDHead',
                       coarse_head=dict(type='AFSDCoarseHead', num_classes=NUM_CLASSES,
                                        in_channels=CH, feat_channels=CH, num_levels=6,
                                        norm_cfg=GN),
                       refine_head=REFINE,
                       assigner=dict(type='AFSDAssigner', keep_best_per_gt=True)),
                  **(head or {})),
        test_cfg=dict(sliding_window=None, pre_nms_topk=1000, score_thr=0.001,
                      nms=dict(method='gaussian', sigma=0.5, multiclass=True)))
    cfg.update(overrides)
    return cfg


GTS = [([[8., 24.], [36., 44.]], [0, 2]), ([[4., 40.], [48., 56.]], [1, 0])]


def make_batch(b=2, seed=0):
    gts = [GTS[i % 2] for i in range(b)]
    x, masks = make_feature_batch(gts, L, in_channels=C_IN, seed=seed)
    samples = make_data_samples(gts, L, video_name='v{i}', window_start=None,
                                snippet_scale=None)
    return x, masks, samples


def build(head=None, **overrides):
    torch.manual_seed(0)
    return MODELS.build(small_cfg(head, **overrides))


# -- components ---------------------------------------------------------------------------------
def test_shapes():
    model = build()
    x, masks, _ = make_batch()
    feats, frame = model.extract_feat(x, masks)
    assert [f.shape[-1] for f in feats] == [64, 32, 16, 8, 4, 2]
    assert all(f.shape[:2] == (2, CH) for f in feats)
    assert frame.shape == (2, CH, L)
    coarse, logits, offsets, rlogits, quality = model(x, mode='tensor')
    n = 64 + 32 + 16 + 8 + 4 + 2
    assert coarse.shape == (2, n, 2) and offsets.shape == (2, n, 2)
    assert logits.shape == rlogits.shape == (2, n, NUM_CLASSES + 1)
    assert quality.shape == (2, n)
    # background is the last logit: the one biased up at init (prior_prob)
    assert int(model.head.coarse_head.cls_out.bias.argmax()) == NUM_CLASSES
    assert int(model.head.refine_head.cls_out.bias.argmax()) == NUM_CLASSES
    # coarse segments contain their prior centre (positive distances)
    out = model.head((feats, frame), masks)
    c = out['centres']
    assert torch.allclose(c[:3], torch.tensor([0.5, 1.5, 2.5]))
    assert torch.allclose(c[64:66], torch.tensor([1.0, 3.0]))  # level 1: (i + .5) * 2
    assert (out['coarse'][..., 0] <= c).all() and (out['coarse'][..., 1] >= c).all()


def test_boundary_regions_and_mean_pool():
    # segment [2, 12] snippets on a grid of unit 2 -> cells [1, 6] in index coords: 0.5..5.5
    r = afsd_boundary_regions(torch.tensor([[2.0, 12.0]]), unit=2.0)
    # w = 5 cells: in = 1.25, out = max(0.5, 1) = 1 -> (0.5-1, 0.5+1.25, 5.5-1.25, 5.5+1)
    assert r.tolist() == [[round(-0.5), round(1.75), round(4.25), round(6.5)]]
    x = torch.arange(8.0).repeat(1, 2, 1)  # [1, 2, 8]: channel 0 start, 1 end
    seg = torch.tensor([[[1., 3., 5., 7.], [6., 2., 0., 0.]]])
    out = boundary_mean_pool_1d(x, seg)
    assert out[0, 0].tolist() == [2.0, 6.0]  # mean x[1..3]; r < l -> x[l]
    assert out[0, 1].tolist() == [6.0, 0.0]
    from tadet.ops import boundary_max_pool_1d
    assert boundary_max_pool_1d(x, seg)[0, 0].tolist() == [3.0, 6.0]


# -- label assignment ---------------------------------------------------------------------------
def test_assign_coarse_points_shortest_gt():
    a = AFSDAssigner()
    centres = torch.tensor([0.5, 2.5, 5.5, 7.5, 9.5])
    gts = torch.tensor([[2.0, 10.0], [5.0, 8.0]])
    res = a.assign(centres, gts, torch.tensor([4, 1]))
    assert res.gt_inds.tolist() == [-1, 0, 1, 1, 0]  # 5.5, 7.5 in both: the shorter wins
    assert res.labels.tolist() == [-1, 4, 1, 1, 4]
    assert res.pos_mask.tolist() == [False, True, True, True, True]
    assert res.refined_labels is None  # no coarse segments given
    # ignored (padded) priors are never positive
    res = a.assign(centres, gts, torch.tensor([4, 1]),
                   valid=torch.tensor([True, True, True, False, False]))
    assert res.gt_inds.tolist() == [-1, 0, 1, -1, -1]
    assert res.labels.tolist() == [-1, 4, 1, -1, -1]
    res = a.assign(centres, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long),
                   coarse_segments=torch.zeros(5, 2))
    assert res.labels.tolist() == [-1] * 5 and res.gt_inds.tolist() == [-1] * 5
    assert res.refined_labels.tolist() == [-1] * 5


def test_assign_refined_threshold_and_keep_best():
    gts = torch.tensor([[0.0, 10.0], [20.0, 30.0]])
    # priors 0, 1 inside gt 0; 2, 3 inside gt 1; 4 outside both
    centres = torch.tensor([5.0, 2.0, 22.0, 22.0, 15.0])
    coarse = torch.tensor([[0.0, 10.0], [0.0, 4.0], [20.0, 24.0], [21.0, 23.0], [0., 1.]])
    labels_gt = torch.tensor([3, 7])
    res = AFSDAssigner(0.5).assign(centres, gts, labels_gt, coarse_segments=coarse)
    assert res.gt_inds.tolist() == [0, 0, 1, 1, -1]
    assert res.refined_labels.tolist() == [3, -1, -1, -1, -1]
    assert torch.allclose(res.tious, torch.tensor([1.0, 0.4, 0.4, 0.2, 0.0]))
    # keep_best_per_gt: gt 1's best coarse tIoU is 0.4 < 0.5 -> its threshold becomes 0.4
    res = AFSDAssigner(0.5, keep_best_per_gt=True).assign(centres, gts, labels_gt,
                                                          coarse_segments=coarse)
    assert res.refined_labels.tolist() == [3, -1, 7, -1, -1]
    with pytest.raises(ValueError, match='pos_iou_thr'):
        AFSDAssigner(1.5)


def test_refine_offset_coder_and_bands():
    from tadet.registry import TASK_UTILS
    coder = TASK_UTILS.build(dict(type='AFSDRefineOffsetCoder'))
    assert isinstance(coder, AFSDRefineOffsetCoder)
    coarse = torch.tensor([[10.0, 20.0]])
    gt = torch.tensor([[8.0, 25.0]])
    off = coder.encode(coarse, gt)
    assert torch.allclose(off, torch.tensor([[-0.4, 1.0]]))
    assert torch.allclose(coder.decode(coarse, off), gt)
    # batched [B, N, 2]; a degenerate coarse segment uses the minimum width
    assert torch.allclose(coder.decode(coarse[None], off[None]), gt[None])
    point = torch.tensor([[5.0, 5.0]])
    assert torch.allclose(coder.decode(point, torch.tensor([[-2.0, 2.0]])),
                          torch.tensor([[5.0 - 1e-3, 5.0 + 1e-3]]))
    start, end = afsd_boundary_bands(torch.tensor([[4.0, 40.0]]), 48, band_ratio=0.1,
                                     min_band=2.0)
    # band width max(3.6, 2) -> |centre - 4| <= 1.8: centres 2.5, 3.5, 4.5, 5.5
    assert start.nonzero().squeeze(1).tolist() == [2, 3, 4, 5]
    assert end.nonzero().squeeze(1).tolist() == [38, 39, 40, 41]


# -- losses -------------------------------------------------------------------------------------
def test_softmax_focal_loss():
    pred = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    target = torch.tensor([2, 1])  # background (the last column), class 1
    p = pred.softmax(1)
    expect = (0.25 * (1 - p[0, 2]) ** 2 * -p[0, 2].log() +
              0.75 * (1 - p[1, 1]) ** 2 * -p[1, 1].log())
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75))
    assert torch.allclose(loss(pred, target, reduction_override='sum'), expect)
    assert torch.allclose(loss(pred, target, avg_factor=1.0), expect)
    ce = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0, alpha=None))
    assert torch.allclose(ce(pred, target), F.cross_entropy(pred, target))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='SoftmaxFocalLoss', alpha=2.0))


def test_tiou_l1_bce_losses():
    tl = MODELS.build(dict(type='TIoULoss', loss_weight=10.0))
    pred = torch.tensor([[0.0, 2.0], [0.0, 4.0]], requires_grad=True)
    target = torch.tensor([[1.0, 3.0], [0.0, 4.0]])
    assert torch.allclose(tl(pred, target), torch.tensor(10 * (1 - 1 / 3) / 2))
    tl(pred, target).backward()
    assert pred.grad[0].abs().sum() > 0
    l1 = MODELS.build(dict(type='L1Loss'))
    assert torch.allclose(l1(torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, 1.0]]),
                             avg_factor=1), torch.tensor(2.5))
    bce = MODELS.build(dict(type='BinaryCrossEntropyLoss'))
    logit = torch.tensor([0.0, 2.0])
    t = torch.tensor([0.5, 1.0], requires_grad=True)
    expect = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    out = bce(logit, t)
    assert abs(float(out) - expect) < 1e-6 and not out.requires_grad  # target detached


def test_boundary_consistency_losses():
    ag = MODELS.build(dict(type='ActivationGuidedBoundaryLoss'))
    feats = torch.zeros(1, 2, 3)
    feats[0, :, 0] = 10.0  # tanh -> ~1 at position 0
    target = torch.tensor([[1.0, 0.0, 1.0]])
    weight = torch.tensor([[1.0, 1.0, 0.0]])  # position 2 masked out
    assert float(ag(feats, target, weight)) < 1e-3
    assert float(ag(feats, target)) > 4.0  # unmasked position 2: prob ~0 vs target 1
    tri = MODELS.build(dict(type='BoundaryContrastiveLoss', margin=1.0, loss_weight=0.1))
    a, p = torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])
    n_far, n_near = torch.tensor([[0.0, 10.0]]), torch.tensor([[0.0, 1.0]])
    assert float(tri(a, p, n_far)) == 0.0  # d(a,p)=5 < d(a,n)=10 - 1
    assert abs(float(tri(a, p, n_near)) - 0.1 * (5 - 1 + 1)) < 1e-4
    assert float(tri(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, 2))) == 0.0


# -- detector -----------------------------------------------------------------------------------
def test_config_validation():
    with pytest.raises(ValueError, match='bogus'):
        MODELS.build(small_cfg(train_cfg=dict(bogus=1)))
    with pytest.raises(TypeError, match='bogus'):
        MODELS.build(small_cfg(bogus=1))
    with pytest.raises(ValueError, match='pooling'):
        MODELS.build(small_cfg(dict(refine_head=dict(REFINE, pooling='avg'))))
    with pytest.raises(ValueError, match='refine_head'):
        MODELS.build(small_cfg(dict(refine_head=None)))
    coarse_only = MODELS.build(small_cfg(dict(refine_head=None), use_refinement=False))
    assert coarse_only.head.refine_head is None
    # detector options the head reads are set on the detector only
    with pytest.raises(ValueError, match='use_refinement'):
        MODELS.build(small_cfg(dict(use_refinement=False)))
    # the head's test_cfg keys are accepted and validated; others are errors
    model = MODELS.build(small_cfg(test_cfg=dict(refine_score_weight=0.0,
                                                 use_quality_score=False)))
    assert model.head.test_cfg == dict(refine_score_weight=0.0, use_quality_score=False)
    with pytest.raises(ValueError, match='refine_score_weight'):
        MODELS.build(small_cfg(test_cfg=dict(refine_score_weight=1.5)))
    for old in ('test_topk', 'post_processing'):
        with pytest.raises(ValueError, match=old):
            MODELS.build(small_cfg(test_cfg={old: 1}))
    with pytest.raises(TypeError, match='test_topk'):
        MODELS.build(small_cfg(test_topk=100))


@pytest.mark.parametrize('overrides', [
    dict(), dict(use_refinement=False),
    dict(use_boundary_loss=False, use_contrastive=False,
         head=dict(refine_head=dict(REFINE, pooling='mean')))])
def test_train_step_and_predict(overrides):
    model = build(**overrides)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, masks, samples = make_batch()
    losses = model(x, masks, samples, mode='loss')
    expect = {'loss_coarse_cls', 'loss_coarse_loc'}
    if model.use_refinement:
        expect |= {'loss_refine_cls', 'loss_refine_loc', 'loss_quality'}
    if model.use_boundary_loss:
        expect.add('loss_bcl')
    if model.use_contrastive:
        expect.add('loss_contrastive')
    assert set(losses) == expect
    assert all(torch.isfinite(v) for v in losses.values())
    optim.zero_grad()
    sum(losses.values()).backward()
    optim.step()
    model.eval()
    results = model(x, masks, copy.deepcopy(samples), mode='predict')
    pred = results[0].pred_instances
    assert pred.segments.shape[1] == 2 and len(pred.scores) == len(pred.labels)
    assert (pred.labels >= 0).all() and (pred.labels < NUM_CLASSES).all()


def test_loss_falls_and_refinement_changes_boundaries():
    model = build(use_contrastive=False)
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, masks, samples = make_batch()
    first = last = None
    for _ in range(20):
        losses = model(x, masks, samples, mode='loss')
        total = sum(losses.values())
        optim.zero_grad()
        total.backward()
        optim.step()
        first = float(total.detach()) if first is None else first
        last = float(total.detach())
    assert last < 0.6 * first
    model.eval()
    with torch.no_grad():
        out = model.head(model.extract_feat(x, masks), masks)
        refined, _ = model.head.scores_and_segments(out)
    # the refinement moves the boundaries of the coarse proposals
    assert (refined - out['coarse']).abs().max() > 0.05
    # the detector output uses the refined segments
    cands = model.predict_window(x, masks)[0]
    coarse_set = {tuple(s) for s in out['coarse'][0].round(decimals=4).tolist()}
    assert any(tuple(s) not in coarse_set for s in cands['segments'].round(decimals=4).tolist())


def test_gradients_reach_frame_branch_through_boundary_pooling():
    model = build(use_boundary_loss=False, use_contrastive=False)
    x, masks, samples = make_batch()
    losses = model(x, masks, samples, mode='loss')
    # only the refinement losses depend on the frame-level branch (via boundary max pooling)
    (losses['loss_refine_cls'] + losses['loss_refine_loc']).backward()
    grads = [p.grad for p in model.frame_branch.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    # the contrastive loss alone also trains the frame-level branch through pooling
    model = build(use_boundary_loss=False, use_contrastive=True)
    gt = [s.gt_instances.segments for s in samples]
    loss = model._contrastive_loss(x, masks, gt)
    assert float(loss) > 0
    loss.backward()
    assert sum(p.grad.abs().sum() for p in model.frame_branch.parameters()) > 0
    assert model.neck.levels[0].conv.weight.grad.abs().sum() > 0


def test_refine_feature_grad_scales_what_reaches_the_shared_features():
    x, masks, samples = make_batch()
    refine_side = ('loss_refine_cls', 'loss_refine_loc', 'loss_quality', 'loss_bcl',
                   'loss_contrastive')

    def grads(g):
        model = build(refine_feature_grad=g)
        torch.manual_seed(1)  # the contrastive splice draws its background at random
        losses = model(x, masks, samples, mode='loss')
        sum(losses[k] for k in refine_side).backward()

        def collect(module):
            return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                              for p in module.parameters()])
        return (torch.cat([collect(model.neck), collect(model.head.coarse_head)]),
                torch.cat([collect(model.head.refine_head), collect(model.frame_branch)]))

    shared1, own1 = grads(1.0)
    shared_half, own_half = grads(0.5)
    shared0, own0 = grads(0.0)
    assert shared1.abs().sum() > 0
    assert torch.allclose(shared_half, 0.5 * shared1, rtol=1e-4, atol=1e-6)
    assert shared0.abs().sum() == 0  # detached: the coarse part only learns from its own losses
    # the refinement side itself learns the same either way
    assert torch.allclose(own0, own1, rtol=1e-4, atol=1e-6)
    assert own0.abs().sum() > 0
    with pytest.raises(ValueError, match='refine_feature_grad'):
        build(refine_feature_grad=1.5)


def test_splice_layout():
    model = build()
    x = torch.arange(L, dtype=torch.float32).repeat(1, C_IN, 1)
    masks = torch.ones(1, L, dtype=torch.bool)
    gt = [torch.tensor([[8., 24.], [36., 44.]])]
    torch.manual_seed(0)
    # contrastive_mode='range' (the earlier splice): background positions inserted mid-action
    spliced, smask, segs, _ = splice_background_positions(x, masks, gt, 4)
    (a1s, a1e), (a2s, a2e), (bgs, bge) = segs[0].long().tolist()
    assert (a1s, a1e, a2e) == (8, 16, 32) and bge - bgs == 8 and bgs == 16
    seq = spliced[0, 0]
    assert seq[:16].tolist() == list(range(16))
    bg = seq[16:24]
    assert all(v < 8 or 24 <= v < 36 or v >= 44 for v in bg.tolist())  # background positions
    assert seq[24:32].tolist() == list(range(16, 24))  # A2 continues the action
    assert smask.all()


def test_class_agnostic():
    model = build(class_agnostic=True)
    assert model.num_classes == 1 and model.head.refine_head.num_classes == 1
    # background is the last logit, for the focal losses' class weighting too
    assert model.head.loss_coarse_cls.background_index == -1
    assert model.head.loss_refine_cls.background_index == -1
    x, masks, samples = make_batch()
    losses = model(x, masks, samples, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())


def test_head_scores_and_candidates():
    """predict_by_feat: ((1 - w) softmax(coarse) + w softmax(refined)) * sigmoid(quality),
    background (last logit) dropped, then the pre_nms_topk best (proposal, class) pairs above
    score_thr."""
    head = build().head
    g = torch.Generator().manual_seed(3)
    outs = dict(centres=torch.tensor([0.5, 1.5, 2.5]),
                coarse=torch.tensor([[[0., 1.], [1., 2.], [2., 4.]]]),
                coarse_logits=torch.randn(1, 3, NUM_CLASSES + 1, generator=g),
                refine_logits=torch.randn(1, 3, NUM_CLASSES + 1, generator=g),
                offsets=torch.tensor([[[0., 0.], [0., 0.], [-1., 1.]]]),
                quality=torch.randn(1, 3, generator=g))
    masks = torch.tensor([[True, True, False, False]])  # prior 2 lies on padding
    head.test_cfg = dict(refine_score_weight=0.25, use_quality_score=True, pre_nms_topk=4,
                         score_thr=0.0)
    probs = (0.75 * outs['coarse_logits'].softmax(-1) + 0.25 * outs['refine_logits'].softmax(-1))
    expect = (probs * outs['quality'].sigmoid()[..., None])[0, :2, :-1]
    cand = head.predict_by_feat(outs, masks)[0]
    top = expect.flatten().topk(4)
    assert torch.allclose(cand['scores'], top.values)
    assert cand['labels'].tolist() == (top.indices % NUM_CLASSES).tolist()
    assert torch.equal(cand['segments'], outs['coarse'][0][top.indices // NUM_CLASSES])
    # refined segments: coarse + offsets * half width; no quality factor when switched off
    segs, scores = head.scores_and_segments(outs)
    assert segs[0, 2].tolist() == [1.0, 5.0]
    head.test_cfg = dict(refine_score_weight=0.0, use_quality_score=False)
    _, scores = head.scores_and_segments(outs)
    assert torch.allclose(scores, outs['coarse_logits'].softmax(-1)[..., :-1])


def test_old_checkpoint_layout_loads():
    """Checkpoints from before the head owned the coarse / refine networks (background logit
    first) still load, with the background moved last."""
    model = build()
    old = {k.replace('head.coarse_head.', 'coarse_head.').replace('head.refine_head.',
                                                                   'refine_head.'): v
           for k, v in model.state_dict().items()}
    for k in [k for k in old if '_head.cls_out.' in k]:
        old[k] = torch.cat([old[k][-1:], old[k][:-1]])  # the old layout: background first
    assert any(k.startswith('coarse_head.') for k in old)
    torch.manual_seed(5)
    other = MODELS.build(small_cfg())
    other.load_state_dict(old)
    for (name, p), q in zip(other.named_parameters(), model.parameters()):
        assert torch.equal(p, q), name
