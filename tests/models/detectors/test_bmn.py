"""BMN: encoder, boundary targets, balanced BCE, detector train step and predict on CPU (the
TEM head: dense_heads/test_tem_head.py; the BM head: roi_heads/test_bm_head.py)."""
import os.path as osp

import pytest
import torch

import tadet.models  # noqa: F401
from tadet.models.task_modules.boundary_targets import boundary_targets
from tadet.registry import MODELS

from tadet_testing import REPO, make_data_samples, make_feature_batch

pytestmark = pytest.mark.usefixtures('single_thread')


# -- encoder, boundary targets, balanced BCE --------------------------------------------------
def test_encoder_shapes_and_groups():
    enc = MODELS.build(dict(type='BMNEncoder', in_channels=16, feat_channels=32))
    assert enc(torch.randn(2, 16, 40)).shape == (2, 32, 40)
    assert enc.convs[0].conv.groups == 4 and len(enc.convs) == 2
    with pytest.raises(ValueError, match='groups'):
        MODELS.build(dict(type='BMNEncoder', in_channels=18, feat_channels=32))
    with pytest.raises(TypeError, match='foo'):
        MODELS.build(dict(type='BMNEncoder', in_channels=16, foo=1))


def test_boundary_targets_hand_made():
    # gt [10.25, 20]: start region [8.75, 11.75] vs unit anchors centred on t;
    # end region [18.5, 21.5] vs unit anchors centred on t + 1
    start, end = boundary_targets(torch.tensor([[10.25, 20.0]]), 32)
    torch.testing.assert_close(start[7:14], torch.tensor([0., 0., .75, 1., 1., .25, 0.]))
    torch.testing.assert_close(end[16:23], torch.tensor([0., 0., 1., 1., 1., 0., 0.]))
    assert start.sum() == pytest.approx(3.0) and end.sum() == pytest.approx(3.0)
    # region width is configurable; a proportional region (BSN-style) widens long actions
    start1, _ = boundary_targets(torch.tensor([[10.0, 20.0]]), 32, region_width=1.0)
    assert torch.nonzero(start1).squeeze(1).tolist() == [10]
    start2, _ = boundary_targets(torch.tensor([[10.0, 20.0]]), 32, region_width=1.0,
                                 region_ratio=0.5)  # width 5
    assert torch.nonzero(start2 == 1).squeeze(1).tolist() == [8, 9, 10, 11, 12]
    # two actions: max over them; none: zeros
    s, e = boundary_targets(torch.tensor([[2.0, 5.0], [5.0, 9.0]]), 12)
    assert s[5] == 1 and e[3] == 1 and s[4] == 1  # 5 is both an end and a start
    z, _ = boundary_targets(torch.zeros(0, 2), 8)
    assert z.shape == (8,) and z.sum() == 0


def test_balanced_bce_equal_halves():
    loss = MODELS.build(dict(type='BalancedBCELoss', pos_thr=0.5))
    target = torch.tensor([1., 0., 0., 0., 0.7, 0.2])
    pred = torch.tensor([0.9, 0.2, 0.1, 0.3, 0.6, 0.4])
    pos = -(torch.log(torch.tensor([0.9, 0.6]))).mean()
    neg = -(torch.log(1 - torch.tensor([0.2, 0.1, 0.3, 0.4]))).mean()
    torch.testing.assert_close(loss(pred, target), 0.5 * (pos + neg))
    # BMN's formula: coef_1 = 0.5 E / P on positives, coef_0 = 0.5 E/(E-P) on negatives, / E
    E, P = 6, 2
    bmn = -(0.5 * E / P * torch.log(pred[[0, 4]]).sum()
            + 0.5 * E / (E - P) * torch.log(1 - pred[[1, 2, 3, 5]]).sum()) / E
    torch.testing.assert_close(loss(pred, target), bmn)
    # masked entries do not count; logits input gives the same value
    w = torch.tensor([1., 1., 0., 0., 1., 1.])
    ref = 0.5 * (pos - 0.5 * torch.log(1 - torch.tensor([0.2, 0.4])).sum())
    torch.testing.assert_close(loss(pred, target, w), ref)
    lg = MODELS.build(dict(type='BalancedBCELoss', pos_thr=0.5, use_sigmoid=True))
    torch.testing.assert_close(lg(torch.logit(pred), target), loss(pred, target))
    # a threshold of 0.9 (BMN's PEM classification) makes 0.7 negative
    hi = MODELS.build(dict(type='BalancedBCELoss', pos_thr=0.9))
    assert hi(pred, target) != loss(pred, target)


def test_boundary_peak_mask_rule():
    from tadet.models.post_processing import boundary_peak_mask
    p = torch.tensor([0.1, 0.3, 0.2, 0.1, 0.9, 0.5, 0.6, 0.0, 0.8])
    # peaks at 1, 4, 6; above 0.45 at 4, 5, 6; first always for starts; 8 is padding
    assert torch.nonzero(boundary_peak_mask(p, 8, 0.5, 'first')).squeeze(1).tolist() == \
        [0, 1, 4, 5, 6]
    assert torch.nonzero(boundary_peak_mask(p, 8, 0.5, 'last')).squeeze(1).tolist() == \
        [1, 4, 5, 6, 7]


# -- detector ---------------------------------------------------------------------------------
NUM_CLASSES = 3


def small_cfg(**kw):
    cfg = dict(
        type='BMN',
        encoder=dict(type='BMNEncoder', in_channels=8, feat_channels=16),
        proposal_head=dict(type='BMHead', in_channels=16, max_duration=24, feat_channels=16,
                           num_samples=4, bm_channels=16, map_channels=8,
                           tem_head=dict(type='TEMHead', in_channels=16, feat_channels=16)),
        cls_head=dict(type='SnippetClassificationHead', in_channels=16,
                      num_classes=NUM_CLASSES, feat_channels=16),
        test_cfg=dict(peak_ratio=0.5, max_proposals=1000, pre_nms_topk=1000,
                      nms=dict(method='gaussian', sigma=0.5, multiclass=True),
                      max_per_video=100))
    cfg.update(kw)
    return cfg


GTS = [([[6., 16.], [30., 34.]], [0, 2]), ([[20., 40.]], [1])]


def samples(gts=GTS, T=48):
    return make_data_samples(gts, T)


def batch(gts=GTS, T=48, seed=0):
    """Class evidence inside the actions and start / end cues; window 0 padded after 44."""
    return make_feature_batch(gts, T, seed=seed, boundary_channels=(4, 5), pad_first_from=44)


def train(model, steps, lr=5e-3):
    x, masks = batch()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        losses = model(x, masks, samples(), mode='loss')
        total = sum(losses.values())
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    return first, total.item()


def test_bmn_train_step_reaches_encoder():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    x, masks = batch()
    losses = model(x, masks, samples(), mode='loss')
    assert set(losses) == {'loss_start', 'loss_end', 'loss_pem_cls', 'loss_pem_reg',
                           'loss_snippet_cls'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.proposal_head.loss_reg.loss_weight == 10.0
    # the heads' test options come from the one test_cfg
    assert model.proposal_head.test_cfg == dict(peak_ratio=0.5, max_proposals=1000)
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    out, logits = model(x, masks, mode='tensor')  # every head's forward
    assert out['maps'].shape == (2, 2, 24, 48) and out['start'].shape == (2, 48)
    assert logits.shape == (2, NUM_CLASSES + 1, 48)


def test_bmn_learns_and_predicts():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    first, last = train(model, 80)
    assert last < 0.6 * first
    model.eval()
    x, masks = batch()
    cands = model.predict_window(x, masks)
    assert set(cands[0]) == {'segments', 'scores', 'labels'}
    assert (cands[0]['segments'][:, 1] <= 44).all()  # nothing ends in the padding
    preds = model(x, masks, samples(), mode='predict')
    from tadet.models.task_modules import segment_tiou
    for pred, (segs, labels) in zip(preds, GTS):
        det = pred.pred_instances
        assert det.scores.numel() > 0 and (det.scores[:-1] >= det.scores[1:]).all()
        segs_snip = det.segments.float() * 10  # fps 10, stride 1, offset 0 -> x = 10 t + 0.5
        segs_snip = segs_snip + 0.5
        top = segs_snip[:10]
        for gt, lab in zip(segs, labels):
            hit = (segment_tiou(top, torch.tensor([gt]))[:, 0] > 0.5) & (det.labels[:10] == lab)
            assert hit.any(), (gt, lab)


def test_bmn_class_agnostic_without_cls_head():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg(cls_head=None))
    x, masks = batch()
    assert 'loss_snippet_cls' not in model(x, masks, samples(), mode='loss')
    model.eval()
    cands = model.predict_window(x, masks)
    assert (cands[0]['labels'] == 0).all() and cands[0]['scores'].numel() > 0


def test_bmn_max_proposals_and_thresholds_from_test_cfg():
    torch.manual_seed(0)
    cfg = small_cfg(cls_head=None)
    cfg['test_cfg'] = dict(max_proposals=5, score_thr=0.0)
    model = MODELS.build(cfg).eval()
    x, masks = batch()
    assert all(c['scores'].numel() <= 5 for c in model.predict_window(x, masks))
    cfg = small_cfg()
    cfg['test_cfg'] = dict(max_proposals=5, pre_nms_topk=7)
    model = MODELS.build(cfg).eval()
    cands = model.predict_window(x, masks)
    # 5 proposals x 3 classes, the best 7 (proposal, class) pairs kept
    assert all(c['scores'].numel() == 7 for c in cands)


def test_bmn_old_checkpoint_layout_loads():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    old = {('tem_head.' + k[len('proposal_head.tem_head.'):]
            if k.startswith('proposal_head.tem_head.') else k): v.clone() + 1
           for k, v in model.state_dict().items()}
    assert any(k.startswith('tem_head.') for k in old)
    model.load_state_dict(old)
    torch.testing.assert_close(model.proposal_head.tem_head.start_branch[-1].bias,
                               old['tem_head.start_branch.1.bias'])


def test_bmn_config_errors_and_configs_build():
    with pytest.raises(ValueError, match='foo'):
        MODELS.build(small_cfg(train_cfg=dict(foo=1)))
    with pytest.raises(TypeError, match='bar'):
        MODELS.build(small_cfg(bar=1))
    with pytest.raises(TypeError, match='bm_head'):  # the former key is now proposal_head
        MODELS.build(small_cfg(bm_head=dict(type='BMHead')))
    with pytest.raises(ValueError, match='test_topk'):  # not a test_cfg key
        MODELS.build(small_cfg(test_cfg=dict(test_topk=3)))
    from mmengine.config import Config
    for name in ('bmn_thumos14_synth.py', 'bmn_thumos14_i3d.py',
                 'bmn_activitynet_resize100.py'):
        cfg = Config.fromfile(osp.join(REPO, 'configs/bmn', name))
        # the ActivityNet classifier file is not shipped: build without it
        cfg.model.test_cfg.pop('external_classifier', None)
        model = MODELS.build(cfg.model)
        assert isinstance(model, MODELS.get('BMN'))
