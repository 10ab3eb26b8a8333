"""SegTAD: segmentation / boundary targets, sparse proposals, tIoU graph, neighbourhood
sampling, the PAG ablation switches, a full train step + predict, and the configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import tadet.models  # noqa: F401
from tadet.models.dense_heads import BaseTADHead
from tadet.models.task_modules import (NeighbourhoodSampler, SparseProposalGenerator,
                                       action_snippet_range, proposal_tiou_targets,
                                       segment_tiou, segtad_boundary_targets, tiou_neighbours)
from tadet.registry import MODELS

from tadet_testing import REPO, make_data_samples, make_feature_batch

pytestmark = pytest.mark.usefixtures('single_thread')


def small_cfg(num_classes=3, in_channels=8, neck=None, **kw):
    neck_cfg = dict(type='SegTADSSN', in_channels=in_channels, channels=16, highway_channels=8,
                    dilations=(1, 2), knn_k=3)
    neck_cfg.update(neck or {})
    cfg = dict(
        type='SegTAD', num_classes=num_classes,
        neck=neck_cfg,
        seg_head=dict(type='SegTADSegHead', in_channels=16, num_classes=num_classes,
                      feat_channels=16),
        roi_head=dict(type='SegTADPDN', in_channels=16, feat_channels=16,
                      proposal_generator=dict(type='SparseProposalGenerator', step=4),
                      align=dict(type='ProposalAlign1d', inner_bins=4, context_bins=2,
                                 sampling_ratio=2),
                      sampler=dict(type='NeighbourhoodSampler', num_seeds=8)),
        test_cfg=dict(sliding_window=None,
                      nms=dict(method='gaussian', sigma=0.5, multiclass=True),
                      max_per_video=100))
    cfg.update(kw)
    return cfg


GTS = [([[8., 24.], [40., 43.]], [0, 2]), ([[20., 60.]], [1])]


def samples(gts=GTS):
    return make_data_samples(gts, 64)


def batch(seed=0):
    return make_feature_batch(GTS, 64, seed=seed, pad_first_from=56)


# -- targets ------------------------------------------------------------------------------------
def test_segmentation_labels_from_annotations():
    head = MODELS.build(dict(type='SegTADSegHead', in_channels=4, num_classes=3))
    masks = torch.ones(1, 12, dtype=torch.bool)
    masks[0, 10:] = False
    # [1.6, 4.4]: centres 2.5, 3.5 inside -> snippets 2, 3; [3, 9] (label 1) covers 3..8 and
    # is longer, so the shorter action keeps snippet 3; [9.5, 9.7] holds centre 9.5 only
    segs = [torch.tensor([[1.6, 4.4], [3., 9.], [9.5, 9.7]])]
    labels = [torch.tensor([0, 1, 2])]
    cls, bnd = head.get_targets(masks, segs, labels)
    assert cls[0].tolist() == [3, 3, 0, 0, 1, 1, 1, 1, 1, 2, -100, -100]
    assert torch.nonzero(bnd[0, 0]).squeeze(1).tolist() == [2, 3, 9]  # starts
    assert torch.nonzero(bnd[0, 1]).squeeze(1).tolist() == [3, 8, 9]  # ends


def test_boundary_targets_short_and_cut_actions():
    first, last = action_snippet_range(torch.tensor([[2.0, 5.2], [7.4, 7.45], [-3., 4.]]))
    assert first.tolist() == [2, 7, -3] and last.tolist() == [4, 7, 3]
    start, end = segtad_boundary_targets(torch.tensor([[-3., 4.], [8., 20.]]), 10)
    assert torch.nonzero(start).squeeze(1).tolist() == [8]  # the cut action has no start here
    assert torch.nonzero(end).squeeze(1).tolist() == [3]  # its end at 19 is outside too
    s0, e0 = segtad_boundary_targets(torch.zeros((0, 2)), 5)
    assert s0.sum() == 0 and e0.sum() == 0


def test_seg_head_loss_learns_and_ignores_padding():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='SegTADSegHead', in_channels=4, num_classes=2,
                             feat_channels=8))
    assert isinstance(head, BaseTADHead)
    x = torch.randn(1, 4, 16)
    masks = torch.ones(1, 16, dtype=torch.bool)
    data = samples([([[4., 10.]], [1])])
    losses = head.loss(x, masks, data)
    assert set(losses) == {'loss_seg_cls', 'loss_start', 'loss_end'}
    # loss = forward + loss_by_feat
    again = head.loss_by_feat(head(x, masks), masks, data)
    for k in losses:
        assert torch.equal(losses[k], again[k])
    # padded snippets do not change the loss
    x2 = torch.cat([x, torch.randn(1, 4, 4) * 100], -1)
    m2 = torch.cat([masks, torch.zeros(1, 4, dtype=torch.bool)], -1)
    losses2 = head.loss(x2[..., :20], m2, data)
    # the k3 conv sees one padded neighbour at position 15: compare a conv-free head instead
    head0 = MODELS.build(dict(type='SegTADSegHead', in_channels=4, num_classes=2, num_convs=0))
    a = head0.loss(x, masks, data)
    b = head0.loss(x2, m2, data)
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    assert all(torch.isfinite(v) for v in losses2.values())


# -- proposals, graph, sampling -----------------------------------------------------------------
def test_sparse_proposal_enumeration():
    gen = SparseProposalGenerator(step=8)
    p = gen(24)
    # starts 0, 8, 16; lengths 8, 16, 24 with end <= 24
    assert p.tolist() == [[0, 8], [0, 16], [0, 24], [8, 16], [8, 24], [16, 24]]
    # valid length 20: ends up to 24, clipped to 20
    assert gen(20).tolist() == [[0, 8], [0, 16], [0, 20], [8, 16], [8, 20], [16, 20]]
    assert ((p % 8) == 0).all()
    # 1000 snippets, step 8: 125 * 126 / 2 proposals
    assert gen.num_proposals(1000) == 125 * 126 // 2
    assert SparseProposalGenerator(step=4, max_length=8)(16).shape[0] == 4 + 3
    assert gen(0).shape == (0, 2)
    with pytest.raises(ValueError):
        SparseProposalGenerator(step=0)


def test_tiou_neighbours_hand_made():
    props = torch.tensor([[0., 10.], [0., 8.], [2., 10.], [30., 40.]])
    idx, val = tiou_neighbours(props, 2, chunk=3)  # chunked rows give the same answer
    assert idx[0].tolist() == [1, 2]  # 0.8 and 0.8: ties keep both
    assert idx[1].tolist() == [0, 2]  # 0.8 then 6/10
    torch.testing.assert_close(val[1], torch.tensor([0.8, 0.6]))
    assert idx[3].tolist() == [-1, -1]  # overlaps nobody: no edges
    full, _ = tiou_neighbours(props, 2, chunk=2048)
    assert torch.equal(full, idx)


def test_neighbourhood_sampler_keeps_neighbourhoods():
    torch.manual_seed(0)
    props = SparseProposalGenerator(step=4)(64)
    gt = torch.tensor([[8., 24.], [40., 44.]])
    tiou = proposal_tiou_targets(props, gt)
    nbrs, _ = tiou_neighbours(props, 4)
    sampler = NeighbourhoodSampler(num_seeds=10, pos_fraction=0.5, pos_iou_thr=0.5,
                                   num_neighbours=4, hops=2)
    seeds = sampler.sample_seeds(tiou)
    assert seeds.numel() == 10 and (tiou[seeds] > 0.5).sum() == 5
    nodes, is_seed = sampler(tiou, nbrs)
    chosen = set(nodes.tolist())
    assert nodes.tolist() == sorted(chosen)  # unique, ascending
    assert int(is_seed.sum()) == 10
    for s in nodes[is_seed].tolist():
        hop1 = [j for j in nbrs[s].tolist() if j >= 0]
        assert set(hop1) <= chosen
        for j in hop1:
            assert set(k for k in nbrs[j].tolist() if k >= 0) <= chosen
    # hops=0: only the seeds
    nodes0, seed0 = NeighbourhoodSampler(num_seeds=10, hops=0)(tiou, nbrs)
    assert nodes0.numel() == 10 and seed0.all()
    # too few positives: negatives fill in
    few = NeighbourhoodSampler(num_seeds=10).sample_seeds(torch.tensor([0.9] + [0.1] * 20))
    assert few.numel() == 10 and few[0].item() == 0


def test_pdn_graph_stays_inside_each_window():
    pdn = MODELS.build(small_cfg()['roi_head'])
    a = SparseProposalGenerator(step=4)(16)
    b = SparseProposalGenerator(step=4)(12)
    nb = pdn.graph([a, b])[0]
    assert nb.shape == (a.shape[0] + b.shape[0], pdn.graph_k + 1)
    assert nb[:, 0].tolist() == list(range(nb.shape[0]))  # self first
    na = a.shape[0]
    first, second = nb[:na], nb[na:]
    assert ((first < na)).all()
    assert ((second == -1) | (second >= na)).all()


# -- model ------------------------------------------------------------------------------------
def test_ssn_shapes_and_odd_lengths():
    neck = MODELS.build(small_cfg()['neck'])
    for T in (64, 50, 1000 // 8):
        out = neck(torch.randn(2, 8, T), torch.ones(2, T, dtype=torch.bool))
        assert out.shape == (2, 16, T)


@pytest.mark.parametrize('switch', ['use_atrous', 'use_graph', 'use_global'])
def test_ablation_switches_build_and_run(switch):
    torch.manual_seed(0)
    full = MODELS.build(small_cfg())
    model = MODELS.build(small_cfg(neck={switch: False}))
    pag = model.neck.pag
    assert {'use_atrous': len(pag.atrous) == 0, 'use_graph': pag.graph is None,
            'use_global': pag.global_proj is None}[switch]
    n_full = sum(p.numel() for p in full.parameters())
    assert sum(p.numel() for p in model.parameters()) < n_full
    x, masks = batch()
    losses = model.loss(x, masks, samples())
    sum(losses.values()).backward()
    model.eval()
    res = model.predict(x, masks, samples())
    assert len(res[0].pred_instances.scores) > 0


def test_all_branches_off_is_an_error():
    with pytest.raises(ValueError, match='at least one'):
        MODELS.build(small_cfg(neck=dict(use_atrous=False, use_graph=False, use_global=False)))


def test_unknown_keys_are_errors():
    with pytest.raises(TypeError, match='bogus'):
        MODELS.build(small_cfg(bogus=1))
    cfg = small_cfg()
    cfg['roi_head']['bogus_key'] = 3
    with pytest.raises(TypeError, match='bogus_key'):
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='train_cfg'):
        MODELS.build(small_cfg(train_cfg=dict(x=1)))
    with pytest.raises(ValueError, match='class_source'):
        MODELS.build(small_cfg(class_source='video'))


def test_train_step_learns_and_predicts():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    x, masks = batch()
    losses = model.loss(x, masks, samples())
    assert set(losses) == {'loss_seg_cls', 'loss_start', 'loss_end', 'loss_pdn_tiou',
                           'loss_pdn_cls'}
    loss = sum(losses.values())
    loss.backward()
    # the PDN loss reaches the SSN encoder (joint training) and every PDN layer
    assert model.neck.encoder[0].conv.weight.grad.abs().sum() > 0
    assert model.roi_head.gcn[0].self_proj.weight.grad.abs().sum() > 0
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(25):
        opt.zero_grad()
        losses = model.loss(x, masks, samples())
        total = sum(losses.values())
        first = total.item() if first is None else first
        total.backward()
        opt.step()
    assert total.item() < 0.6 * first
    model.eval()
    res = model.predict(x, masks, samples())
    pred = res[1].pred_instances
    assert len(pred.scores) <= 100 and (pred.scores[:-1] >= pred.scores[1:]).all()
    # the best detection of window 1 sits on its action (seconds: snippet / 10)
    assert pred.labels[0].item() == 1
    best = pred.segments[0].float()
    gt = torch.tensor([2.0, 6.0])
    assert segment_tiou(best[None], gt[None], aligned=True).item() > 0.5
    # padded snippets of window 0 produce no proposals
    assert res[0].pred_instances.segments.max() <= 5.6 + 1e-6
    # tensor mode: every head's raw outputs, for FLOPs counting
    (cls, bnd), (props, logits) = model(x, masks, mode='tensor')
    assert cls.shape == (2, 4, 64) and bnd.shape == (2, 2, 64)
    n = [model.roi_head.proposal_generator.num_proposals(int(m.sum())) for m in masks]
    assert [p.shape[0] for p in props] == n and [lg.shape for lg in logits] == [(k, 2)
                                                                               for k in n]


def test_class_agnostic_candidates():
    torch.manual_seed(0)
    cfg = small_cfg(class_source='none')
    cfg['test_cfg'].update(pre_nms_topk=20, score_thr=0.0)
    model = MODELS.build(cfg).eval()
    x, masks = batch()
    cands = model.predict_window(x, masks)
    assert all(c['labels'].eq(0).all() and c['scores'].numel() == 20 for c in cands)
    # they are the PDN's 20 best proposals
    pdn = model.roi_head.predict(model.extract_feat(x, masks), masks)
    for c, r in zip(cands, pdn):
        torch.testing.assert_close(c['scores'], r['scores'].topk(20).values)


def test_segmentation_candidates_are_fused_class_scores():
    torch.manual_seed(0)
    cfg = small_cfg()
    cfg['test_cfg'].update(pre_nms_topk=50, score_thr=0.01)
    model = MODELS.build(cfg).eval()
    x, masks = batch()
    cands = model.predict_window(x, masks)
    feats = model.extract_feat(x, masks)
    probs = model.seg_head.probabilities(model.seg_head(feats, masks)[0])
    for w, (c, r) in enumerate(zip(cands, model.roi_head.predict(feats, masks))):
        assert c['scores'].numel() <= 50 and (c['scores'] > 0.01).all()
        assert c['labels'].max() < 3
        # each candidate: s1 * s2 of its proposal x its class's share of the mean class
        # probabilities inside it (ProposalClassFusion's default class_scores='normalized')
        for seg, score, lab in zip(c['segments'], c['scores'], c['labels']):
            i = ((r['segments'] == seg).all(1)).nonzero()[0, 0]
            inside = probs[w, int(seg[0]):int(torch.ceil(seg[1]))].mean(0)
            torch.testing.assert_close(score, r['scores'][i] * inside[lab] / inside.sum())


def test_pdn_head_contract():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    pdn = model.roi_head
    assert isinstance(pdn, BaseTADHead) and isinstance(model.seg_head, BaseTADHead)
    assert model.loss_heads() == [model.seg_head, pdn]
    x, masks = batch()
    feats = model.extract_feat(x, masks)
    # the PDN learns from class-agnostic ground truth: labels do not matter
    torch.manual_seed(1)
    a = pdn.loss(feats, masks, samples())
    torch.manual_seed(1)
    b = pdn.loss(feats, masks, samples([(g[0], [0] * len(g[1])) for g in GTS]))
    assert set(a) == {'loss_pdn_tiou', 'loss_pdn_cls'}
    for k in a:
        assert torch.equal(a[k], b[k])
    pdn.eval()
    res = pdn.predict(feats, masks)
    n = [pdn.proposal_generator.num_proposals(int(m.sum())) for m in masks]
    assert [r['scores'].shape[0] for r in res] == n
    assert all(r['labels'].eq(0).all() and ((r['scores'] >= 0) & (r['scores'] <= 1)).all()
               for r in res)


def test_detection_loss_is_paper_mse_plus_bce_lambda_1():
    """Paper eqs. 10-11: L_det = MSE(s1, g) + lambda BCE(s2, g > 0.5), lambda = 1, the default
    of the base config; ``loss_tiou.loss_weight=10`` restores the former 10:1 weighting."""
    import torch.nn.functional as F
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/models/segtad.py'))
    pdn_cfg = cfg.model.roi_head
    assert pdn_cfg.loss_tiou.loss_weight == 1.0 and pdn_cfg.loss_cls.loss_weight == 1.0
    pdn_cfg.update(in_channels=16, feat_channels=16)
    pdn = MODELS.build(pdn_cfg)
    logits = torch.tensor([[2.0, -1.0], [-0.5, 0.3], [0.0, 1.5], [1.0, -2.0]])
    tiou = torch.tensor([0.9, 0.2, 0.55, 0.5])  # 0.5 itself is negative (tIoU > 0.5)
    losses = pdn.loss_by_feat((logits, tiou), None, [])
    mse = ((logits[:, 0].sigmoid() - tiou) ** 2).mean()
    bce = F.binary_cross_entropy_with_logits(logits[:, 1], torch.tensor([1., 0., 1., 0.]))
    torch.testing.assert_close(losses['loss_pdn_tiou'], mse)
    torch.testing.assert_close(losses['loss_pdn_cls'], bce)
    torch.testing.assert_close(sum(losses.values()), mse + 1.0 * bce)
    # the former weighting stays reachable as a config option
    pdn_cfg.loss_tiou.loss_weight = 10.0
    old = MODELS.build(pdn_cfg).loss_by_feat((logits, tiou), None, [])
    torch.testing.assert_close(old['loss_pdn_tiou'], 10 * mse)
    torch.testing.assert_close(old['loss_pdn_cls'], bce)


def test_predict_memory_bound_chunks_agree():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg()).eval()
    x, masks = batch()
    a = model.roi_head.predict(model.neck(x, masks), masks)
    model.roi_head.test_chunk = 7
    b = model.roi_head.predict(model.neck(x, masks), masks)
    for ra, rb in zip(a, b):
        torch.testing.assert_close(ra['scores'], rb['scores'])


def test_old_keys_are_errors():
    with pytest.raises(TypeError, match='test_topk'):
        MODELS.build(small_cfg(test_topk=20))
    cfg = small_cfg()
    cfg['test_cfg']['post_processing'] = dict(max_per_video=100)
    with pytest.raises(ValueError, match='flattened'):
        MODELS.build(cfg)
    cfg = small_cfg()
    cfg['test_cfg']['test_topk'] = 20
    with pytest.raises(ValueError, match='test_topk'):
        MODELS.build(cfg)


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(REPO, 'configs', 'segtad', '*.py'))))
def test_configs_build(path):
    cfg = Config.fromfile(path)
    test_cfg = cfg.model.test_cfg
    if test_cfg.get('external_classifier'):  # the classifier file is not shipped
        assert test_cfg.external_classifier.num_classes == cfg.model.num_classes
        test_cfg.external_classifier = None
    model = MODELS.build(cfg.model)
    assert model.test_cfg['pre_nms_topk'] in (1000, 2000) and model.test_cfg['score_thr'] == 0
    assert model.class_fusion.clip_to_valid
    assert model.roi_head.proposal_generator.step in (4, 8)
    name = osp.basename(path)
    if 'no_ac' in name:
        assert len(model.neck.pag.atrous) == 0
    if 'no_gc' in name:
        assert model.neck.pag.graph is None
    if 'no_gp' in name:
        assert model.neck.pag.global_proj is None
    if 'activitynet' in name:
        assert model.sliding_window is None and model.class_source == 'none'
        assert model.post_processor.max_per_video == 100
