"""BMN: encoder, TEM (boundary targets, balanced BCE), boundary-matching head (grid tIoU
targets, sampling weights, losses), detector train step and predict on CPU."""
import os.path as osp
import warnings

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import tadet.models  # noqa: F401
from tadet.models.task_modules.boundary_targets import boundary_targets
from tadet.registry import MODELS
from tadet.structures import TADDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_THREADS = torch.get_num_threads()


def setup_module():
    init_default_scope('tadet')
    torch.set_num_threads(1)


def teardown_module():
    torch.set_num_threads(_THREADS)


# -- encoder and TEM ------------------------------------------------------------------------
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


def test_tem_head_loss_masks_padding():
    torch.manual_seed(0)
    tem = MODELS.build(dict(type='TEMHead', in_channels=16, feat_channels=16))
    feats = torch.randn(2, 16, 24)
    start, end = tem(feats)
    assert start.shape == end.shape == (2, 24)
    assert ((start > 0) & (start < 1)).all()
    masks = torch.ones(2, 24, dtype=torch.bool)
    gts = samples([([[4.0, 10.0]], [0]), ([[2.0, 6.0]], [1])], T=24)
    losses = tem.loss(feats, masks, gts)  # the head contract: forward + loss_by_feat
    assert set(losses) == {'loss_start', 'loss_end'}
    torch.testing.assert_close(losses['loss_start'],
                               tem.loss_by_feat((start, end), masks, gts)['loss_start'])
    # changing predictions at padded positions changes nothing once they are masked
    masks[1, 16:] = False
    base = tem.loss_by_feat((start, end), masks, gts)['loss_start']
    start2 = start.clone()
    start2[1, 16:] = 0.99
    torch.testing.assert_close(tem.loss_by_feat((start2, end), masks, gts)['loss_start'], base)
    with pytest.raises(NotImplementedError):  # an auxiliary head: no candidates of its own
        tem.predict(feats, masks)


# -- grid targets, BM layer -------------------------------------------------------------------
def test_grid_tiou_targets_hand_made():
    from tadet.models.task_modules.grid_targets import (grid_segments, grid_tiou_targets,
                                                        grid_valid_mask)
    segs, valid = grid_segments(8, 4)
    # cell (d, s) = [s, s + d + 1]
    assert segs[2, 3].tolist() == [3.0, 6.0] and bool(valid[2, 3])
    assert not bool(valid[3, 5]) and bool(valid[3, 4])  # [5, 9] leaves the window, [4, 8] not
    tiou = grid_tiou_targets(torch.tensor([[2.0, 5.0], [6.0, 7.0]]), 8, 4)
    assert tiou[2, 2] == 1.0 and tiou[0, 6] == 1.0     # exact cells
    assert tiou[1, 2] == pytest.approx(2 / 3)          # [2, 4] vs [2, 5]
    assert tiou[3, 2] == pytest.approx(3 / 4)          # [2, 6] vs [2, 5]
    assert tiou[1, 5] == pytest.approx(1 / 2)          # [5, 7] vs [6, 7]
    assert tiou[0, 0] == 0.0
    assert grid_tiou_targets(torch.zeros(0, 2), 8, 4).abs().sum() == 0
    masks = torch.ones(2, 8, dtype=torch.bool)
    masks[1, 6:] = False
    vm = grid_valid_mask(masks, 4)
    assert bool(vm[0, 0, 7]) and not bool(vm[1, 0, 6]) and bool(vm[1, 1, 4])
    assert not bool(vm[1, 1, 5])  # [5, 7] ends in the padding


def test_stratified_weights_balance_bands():
    from tadet.models.task_modules.grid_targets import tiou_stratified_weights
    tiou = torch.cat([torch.full((50,), 0.9), torch.full((500,), 0.5), torch.zeros(5000)])
    valid = torch.ones_like(tiou, dtype=torch.bool)
    valid[-100:] = False
    g = torch.Generator().manual_seed(0)
    w = tiou_stratified_weights(tiou, valid, generator=g)
    assert (w[:50] == 1).all()                      # every high cell
    assert 25 <= w[50:550].sum() <= 80               # ~50 medium
    assert 25 <= w[550:].sum() <= 80                 # ~50 low
    assert w[-100:].sum() == 0                       # never an invalid cell


def test_bm_sampling_weights_shape_and_normalisation():
    from tadet.models.roi_heads.bm_head import bm_sampling_weights
    T, D, N = 16, 6, 4
    w = bm_sampling_weights(T, D, N, 3, 0.5)
    assert w.shape == (D, T, N, T)
    segs_end = torch.arange(T)[None] + torch.arange(1, D + 1)[:, None]
    assert w[segs_end > T].abs().sum() == 0          # cells leaving the window are empty
    # a cell whose extended span lies inside the window: each bin's weights sum to 1
    torch.testing.assert_close(w[1, 6].sum(-1), torch.ones(N, dtype=torch.float64))
    # cell [6, 8] extended to [5, 9]: 4 bins of one snippet each; bin n covers snippet 5 + n
    # (snippet i sits at i + 0.5), so its interpolation weights are centred on that snippet
    # and reach only its two neighbours
    centroid = (w[1, 6] * torch.arange(T, dtype=torch.float64)).sum(-1)
    torch.testing.assert_close(centroid, torch.arange(5, 9, dtype=torch.float64))
    assert w[1, 6, 0, 4] > 0 and w[1, 6, 0, :4].sum() == 0 and w[1, 6, 0, 7:].sum() == 0
    assert (w[1, 6, :, 5:9].diagonal() > 0.7).all()
    # at the window start the extension falls outside: zero padding, so less than 1
    assert w[3, 0, 0].sum() < 0.5 and w[3, 0, -1].sum() == pytest.approx(1.0)


def test_bm_head_fused_equals_dense_bm_layer_and_is_cached():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='BMHead', in_channels=8, max_duration=6, feat_channels=8,
                             num_samples=4, bm_channels=12, map_channels=8,
                             tem_head=dict(type='TEMHead', in_channels=8,
                                           feat_channels=8))).double()
    x = torch.randn(2, 8, 16, dtype=torch.float64)
    dense = head.bm_feature_map(x)
    assert dense.shape == (2, 8, 4, 6, 16)
    ref = head.bm_conv(dense).squeeze(2)
    torch.testing.assert_close(head.bm_features(x), ref)
    mat = head.sampling_matrix(16, x.device, x.dtype)
    assert head.sampling_matrix(16, x.device, x.dtype) is mat and len(head._cache) == 1
    maps = head.forward_maps(x)
    assert maps.shape == (2, 2, 6, 16) and ((maps > 0) & (maps < 1)).all()
    out = head(x)  # the head's forward: its TEM + the maps
    assert set(out) == {'start', 'end', 'maps'} and out['start'].shape == (2, 16)
    torch.testing.assert_close(out['maps'], maps)
    # FLOPs counters trace the model: the traced (dense, published) BM layer gives the same maps
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer warnings about Python-side sizes
        traced = torch.jit.trace(head, (x,), check_trace=False, strict=False)
    torch.testing.assert_close(traced(x)['maps'], maps)


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
    out = []
    for segs, labels in gts:
        s = TADDataSample()
        g = InstanceData()
        g.segments = torch.tensor(segs, dtype=torch.float32).reshape(-1, 2)
        g.labels = torch.tensor(labels, dtype=torch.long)
        s.gt_instances = g
        s.set_metainfo(dict(video_name='v', fps=10.0, feature_stride=1.0, offset_frames=0.0,
                            duration=T / 10, num_snippets=T, window_start=0, snippet_scale=1.0))
        out.append(s)
    return out


def batch(gts=GTS, T=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(gts), 8, T, generator=g) * 0.3
    for b, (segs, labels) in enumerate(gts):
        for (s, e), lab in zip(segs, labels):
            x[b, lab, int(s):int(e)] += 2.0
            x[b, 4, int(s)] += 2.0       # start cue
            x[b, 5, int(e) - 1] += 2.0   # end cue
    masks = torch.ones(len(gts), T, dtype=torch.bool)
    masks[0, 44:] = False
    return x, masks


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
