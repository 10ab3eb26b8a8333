"""G-TAD: GCNeXt block and encoder (temporal + semantic graph), G-TAD head (SGAlign of the grid
cells, shared BMN targets / losses), detector train step and predict on CPU."""
import os.path as osp

import pytest
import torch

import tadet.models  # noqa: F401
from tadet.registry import MODELS

from tadet_testing import REPO, make_data_samples, make_feature_batch

pytestmark = pytest.mark.usefixtures('single_thread')


NUM_CLASSES = 3
GTS = [([[6., 16.], [30., 34.]], [0, 2]), ([[20., 40.]], [1])]


def samples(gts=GTS, T=48):
    return make_data_samples(gts, T)


def batch(gts=GTS, T=48, seed=0):
    """Class evidence inside the actions and start / end cues; window 0 padded after 44."""
    return make_feature_batch(gts, T, seed=seed, boundary_channels=(4, 5), pad_first_from=44)


def test_gcnext_shapes_and_cardinality():
    block = MODELS.build(dict(type='GCNeXt', channels=16, k=3, groups=4, width_per_group=2))
    x = torch.randn(2, 16, 20)
    y = block(x)
    assert y.shape == x.shape and (y >= 0).all()
    assert block.temporal[1].conv.groups == 4 and block.temporal[1].conv.out_channels == 8
    assert block.semantic[0].conv.groups == 4 and block.edge_conv.k == 3
    enc = MODELS.build(dict(type='GCNeXtEncoder', in_channels=8, feat_channels=16,
                            num_blocks=2, groups=4, width_per_group=2))
    assert enc(torch.randn(2, 8, 20)).shape == (2, 16, 20) and len(enc.blocks) == 2
    with pytest.raises(ValueError, match='in_groups'):
        MODELS.build(dict(type='GCNeXtEncoder', in_channels=6, feat_channels=16))


def test_gcnext_semantic_graph_uses_feature_space_neighbours():
    torch.manual_seed(0)
    block = MODELS.build(dict(type='GCNeXt', channels=8, k=2, groups=2, width_per_group=4))
    T = 12
    x = torch.randn(1, 8, T) * 5
    x[0, :, 11] = x[0, :, 0] + 0.01  # snippet 11 is snippet 0's nearest neighbour in features
    x.requires_grad_(True)
    block(x)[0, :, 0].sum().backward()
    influence = x.grad[0].abs().sum(0)
    # snippet 0 sees its temporal neighbour (1, k3 conv) and its feature neighbour (11, far away
    # in time), nothing else
    assert influence[1] > 0 and influence[11] > 0
    assert influence[2:11].sum() == 0
    # the semantic branch alone: node 0's neighbour set is {0, 11}
    from tadet.models.layers import knn_indices
    assert sorted(knn_indices(x.detach(), 2)[0, 0].tolist()) == [0, 11]
    # a masked (padded) snippet is never a semantic neighbour
    mask = torch.ones(1, T, dtype=torch.bool)
    mask[0, 11] = False
    x2 = x.detach().clone().requires_grad_(True)
    block(x2, mask)[0, :, 0].sum().backward()
    assert x2.grad[0, :, 11].abs().sum() == 0


PLAIN_ALIGN = dict(type='ProposalAlign1d', inner_bins=4, context_bins=2, sampling_ratio=2)


def gtad_head_cfg(**kw):
    cfg = dict(type='GTADHead', in_channels=16, max_duration=24, groups=4, width_per_group=2,
               align_channels=8, align=dict(type='SGAlign1d', temporal_bins=4,
                                            semantic_bins=2, sampling_ratio=2),
               mid_channels=16, map_channels=8,
               tem_head=dict(type='TEMHead', in_channels=16, feat_channels=16))
    cfg.update(kw)
    return cfg


def test_gtad_head_maps_and_plain_align():
    torch.manual_seed(0)
    head = MODELS.build(gtad_head_cfg(align=PLAIN_ALIGN))
    feats = torch.randn(2, 16, 48)
    out = head(feats)  # its TEM + the maps
    maps = out['maps']
    assert maps.shape == (2, 2, 24, 48) and ((maps > 0) & (maps < 1)).all()
    assert out['start'].shape == out['end'].shape == (2, 48)
    # cell features: zero where the cell leaves the window, and a cell's feature depends only
    # on the snippets its (context-extended) span reaches
    x = torch.randn(1, 8, 48, requires_grad=True)
    cells = head.cell_features(x)
    assert cells.shape == (1, 16, 24, 48)
    assert cells[0, :, 23, 30:].abs().sum() == 0      # [30, 54] > 48
    cells[0, :, 3, 20].sum().backward()                # cell [20, 24], context [18, 26]
    touched = torch.nonzero(x.grad[0].abs().sum(0)).squeeze(1)
    assert touched.min() >= 17 and touched.max() <= 26
    # targets, losses and decoding are BMN's (the shared GridMapHead, as BMHead)
    from tadet.models.roi_heads import BMHead, GridMapHead
    assert isinstance(head, GridMapHead) and issubclass(BMHead, GridMapHead)
    assert type(head).loss_by_feat is BMHead.loss_by_feat
    masks = torch.ones(2, 48, dtype=torch.bool)
    losses = head.loss(feats, masks, samples([([[6., 16.]], [0]), ([[20., 40.]], [1])]))
    assert set(losses) == {'loss_start', 'loss_end', 'loss_pem_cls', 'loss_pem_reg'}
    assert all(torch.isfinite(v) for v in losses.values())
    props = head.predict(feats, masks)  # class-agnostic proposals
    assert len(props) == 2 and (props[0]['labels'] == 0).all()
    assert props[0]['scores'].numel() <= 1000


def reachable(graph, lo, hi, k):
    """Snippets ``[lo, hi)`` and their ``k`` nearest snippets in ``graph [1, C, T]``."""
    from tadet.models.layers import knn_indices
    return set(range(lo, hi)) | set(knn_indices(graph, k)[0, lo:hi].flatten().tolist())


def test_semantic_context_hand_made():
    from tadet.models.layers.proposal_align import semantic_context
    # one channel: every snippet averaged with its nearest value (k = 2, itself included)
    x = torch.tensor([[[0., 10., 1., 11., 2.5, 12.5]]])
    torch.testing.assert_close(semantic_context(x, 2),
                               torch.tensor([[[0.5, 10.5, 0.5, 10.5, 1.75, 11.75]]]))
    # a padded snippet is never a neighbour
    mask = torch.tensor([[True, True, False, True, True, True]])
    out = semantic_context(x, 2, mask=mask)
    assert out[0, 0, 0] == 1.25 and out[0, 0, 4] == 1.25
    # the graph can come from other features than the ones averaged
    g = torch.tensor([[[0., 5., 5., 0., 9., 9.]]])
    torch.testing.assert_close(semantic_context(x, 2, graph_x=g),
                               torch.tensor([[[5.5, 5.5, 5.5, 5.5, 7.5, 7.5]]]))


def test_sgalign_features_and_semantic_context():
    """G-TAD's SGAlign (authors' goi_style=1): feature bins + semantic-context bins, both over
    the cell extended by half its length on each side."""
    from tadet.models.layers import ProposalAlign1d
    from tadet.models.layers.proposal_align import SGAlign1d, semantic_context
    torch.manual_seed(0)
    x = torch.randn(2, 4, 48) * 5
    rois = torch.tensor([[0., 20., 24.], [1., 3., 11.], [0., 40., 48.]])
    sg = MODELS.build(dict(type='SGAlign1d', temporal_bins=4, semantic_bins=2, k=3))
    out = sg(x, rois)
    assert out.shape == (3, 4, 6) and sg.num_bins == 6
    ext = torch.tensor([[0., 18., 26.], [1., -1., 15.], [0., 36., 52.]])
    feat_only = ProposalAlign1d(4, 0)
    torch.testing.assert_close(out[..., :4], feat_only(x, ext))
    torch.testing.assert_close(out[..., 4:], ProposalAlign1d(2, 0)(semantic_context(x, 3), ext))
    # k = 1: the semantic context is the features themselves
    same = SGAlign1d(temporal_bins=4, semantic_bins=4, k=1)(x, rois)
    torch.testing.assert_close(same[..., :4], same[..., 4:])
    # semantic_bins = 0: features only (authors' goi_style=0)
    torch.testing.assert_close(SGAlign1d(4, 0)(x, rois), feat_only(x, ext))
    with pytest.raises(ValueError, match='semantic_bins'):
        SGAlign1d(4, -1)
    with pytest.raises(ValueError, match=r'\[N, 3\]'):
        sg(x, rois[:, 1:])
    # the key behaviour: a cell sees a snippet far away in time when that snippet is the
    # feature-space neighbour of one it covers; the plain alignment does not
    x = torch.randn(1, 4, 48) * 5
    x[0, :, 45] = x[0, :, 20] + 0.01
    cell = torch.tensor([[0., 20., 24.]])            # extended: [18, 26]
    for align, k in ((sg, 3), (ProposalAlign1d(4, 2), 1)):   # plain: no neighbours
        xg = x.clone().requires_grad_(True)
        align(xg, cell).sum().backward()
        touched = set(torch.nonzero(xg.grad[0].abs().sum(0)).squeeze(1).tolist())
        assert (45 in touched) == (k > 1)
        assert touched <= reachable(x, 17, 27, k)


def test_gtad_head_default_is_sgalign_on_gcnext_graph():
    from mmengine.config import Config
    from tadet.models.layers.proposal_align import SGAlign1d
    base = Config.fromfile(osp.join(REPO, 'configs/_base_/models/gtad.py'))
    assert base.model.proposal_head.align == dict(type='SGAlign1d', temporal_bins=16,
                                                  semantic_bins=16, context_ratio=0.5, k=3)
    default = MODELS.build(gtad_head_cfg(align=None))   # the head's own default
    assert isinstance(default.align, SGAlign1d) and default.align.num_bins == 32
    assert (default.align.temporal_bins, default.align.semantic_bins, default.align.k) == (
        16, 16, 3)
    assert default.cell_fc.in_features == 8 * 32
    # the semantic graph is the GCNeXt output's (graph_x), the averaged features the reduced
    # ones: snippet 45 joins cell [20, 24] through graph_x only
    torch.manual_seed(0)
    head = MODELS.build(gtad_head_cfg())
    y = torch.randn(1, 8, 48, requires_grad=True)
    g = torch.randn(1, 16, 48) * 5
    g[0, :, 45] = g[0, :, 20] + 0.01
    for graph in (g, None):   # None: the graph of the aligned features themselves
        y.grad = None
        head.cell_features(y, graph)[0, :, 3, 20].sum().backward()
        touched = set(torch.nonzero(y.grad[0].abs().sum(0)).squeeze(1).tolist())
        expected = reachable(y.detach() if graph is None else g, 17, 27, 3)
        assert touched <= expected and touched - set(range(17, 27))
        assert (45 in touched) == (graph is not None or 45 in expected)
    # padded snippets are never semantic neighbours inside the head either
    masks = torch.ones(1, 48, dtype=torch.bool)
    masks[0, 45:] = False
    y.grad = None
    head.cell_features(y, g, masks)[0, :, 3, 20].sum().backward()
    assert y.grad[0, :, 45].abs().sum() == 0


def small_cfg(**kw):
    cfg = dict(
        type='GTAD',
        encoder=dict(type='GCNeXtEncoder', in_channels=8, feat_channels=16, groups=4,
                     width_per_group=2),
        proposal_head=gtad_head_cfg(),
        cls_head=dict(type='SnippetClassificationHead', in_channels=16,
                      num_classes=NUM_CLASSES, feat_channels=16),
        test_cfg=dict(pre_nms_topk=1000, nms=dict(method='gaussian', sigma=0.5, multiclass=True),
                      max_per_video=100))
    cfg.update(kw)
    return cfg


def test_gtad_train_step_and_predict():
    torch.manual_seed(0)
    model = MODELS.build(small_cfg())
    x, masks = batch()
    losses = model(x, masks, samples(), mode='loss')
    assert set(losses) == {'loss_start', 'loss_end', 'loss_pem_cls', 'loss_pem_reg',
                           'loss_snippet_cls'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    first = None
    for _ in range(60):
        total = sum(model(x, masks, samples(), mode='loss').values())
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.7 * first
    model.eval()
    preds = model(x, masks, samples(), mode='predict')
    from tadet.models.task_modules import segment_tiou
    for pred, (segs, labels) in zip(preds, GTS):
        det = pred.pred_instances
        assert det.scores.numel() > 0 and (det.scores[:-1] >= det.scores[1:]).all()
        top = det.segments.float()[:10] * 10 + 0.5  # seconds -> snippets (fps 10, stride 1)
        for gt, lab in zip(segs, labels):
            hit = (segment_tiou(top, torch.tensor([gt]))[:, 0] > 0.5) & (det.labels[:10] == lab)
            assert hit.any(), (gt, lab)


def test_gtad_shares_bmn_inference_and_configs_build():
    from tadet.models.detectors import GridProposalDetector
    model = MODELS.build(small_cfg())
    assert isinstance(model, GridProposalDetector)
    assert type(model).predict_window is GridProposalDetector.predict_window
    with pytest.raises(TypeError, match='bar'):
        MODELS.build(small_cfg(bar=1))
    with pytest.raises(TypeError, match='gtad_head'):  # the former key is now proposal_head
        MODELS.build(small_cfg(gtad_head=gtad_head_cfg()))
    from mmengine.config import Config
    from tadet.models.layers import ProposalAlign1d
    from tadet.models.layers.proposal_align import SGAlign1d
    for name in ('gtad_thumos14_synth.py', 'gtad_thumos14_i3d.py',
                 'gtad_activitynet_resize100.py', 'gtad_plainalign_thumos14_synth.py'):
        cfg = Config.fromfile(osp.join(REPO, 'configs/gtad', name))
        cfg.model.test_cfg.pop('external_classifier', None)
        model = MODELS.build(cfg.model)
        assert isinstance(model, MODELS.get('GTAD'))
        plain = 'plainalign' in name
        assert isinstance(model.proposal_head.align, ProposalAlign1d if plain else SGAlign1d)
