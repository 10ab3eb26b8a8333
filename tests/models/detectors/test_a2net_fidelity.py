"""A2Net fidelity to the authors' code (issue 16.3): anchor-based regression on the normalised
(start, end), matching and overlap target on the decoded predictions, hard + easy negative
sampling, anchor-free regression in base units, one foreground-argmax candidate per prior.
Each old behaviour stays reachable by an option; both are checked on hand-made cases."""
import pytest
import torch
from torch.nn import functional as F

import tadet.models  # noqa: F401
from tadet.models.dense_heads.a2net_anchor_head import class_candidates
from tadet.registry import MODELS

from tadet_testing import make_data_samples

pytestmark = pytest.mark.usefixtures('single_thread')


def one_level_head(**kw):
    """1 class, 1 level of 4 positions in a 16-snippet window, one anchor per position of
    width 4: anchors [0, 4], [4, 8], [8, 12], [12, 16]."""
    return MODELS.build(dict(type='A2NetAnchorHead', num_classes=1, in_channels=(4,),
                             anchor_generator=dict(type='AnchorGenerator1d', scales=(1.0,)),
                             **kw))


def outs(dc=0.0, overlap=(0., 0., 0., 0.)):
    """Raw output [1, 5, 4]: channels (fg logit, bg logit, overlap logit, dc, dw)."""
    o = torch.zeros(1, 5, 4)
    o[0, 2] = torch.tensor(overlap)
    o[0, 3] = dc
    return [o]


def ab_loss(head, raw, gt, record=None):
    if record is not None:  # capture (pred, target) of the overlap loss
        forward = head.loss_overlap.forward

        def spy(pred, target, **kw):
            record.append((pred.detach(), target))
            return forward(pred, target, **kw)
        head.loss_overlap.forward = spy
    return head.loss_by_feat(raw, torch.ones(1, 16, dtype=torch.bool),
                             make_data_samples([([gt], [0])], 16))


def test_ab_regression_on_normalised_start_end_vs_deltas():
    # dc = 1 moves every centre by 0.1 * 4 = 0.4: anchor [4, 8] -> [4.4, 8.4], tIoU 0.82 with
    # the gt [4, 8], the only positive
    new = ab_loss(one_level_head(), outs(dc=1.0), [4., 8.])
    # authors: smooth-L1 of (0.4 / 16) at both ends, summed, over 1 positive, weight 10
    torch.testing.assert_close(new['loss_ab_reg'], torch.tensor(10 * 2 * 0.5 * (0.4 / 16) ** 2))
    old = ab_loss(one_level_head(reg_loss_space='deltas'), outs(dc=1.0), [4., 8.])
    # earlier variant: deltas (1, 0) vs target (0, 0), averaged over 2 coordinates
    torch.testing.assert_close(old['loss_ab_reg'], torch.tensor(10 * 0.5 / 2))
    assert old['loss_ab_reg'] > 300 * new['loss_ab_reg']


def test_ab_matching_and_overlap_target_on_decoded_predictions():
    # gt [5, 9]; dc = 2.5 moves every anchor by 1: anchor [4, 8] -> prediction [5, 9]
    rec = []
    ab_loss(one_level_head(), outs(dc=2.5), [5., 9.], rec)
    (pred, target), = rec
    # samples: the positive (prior 1, tIoU 1 of its *prediction*) + 1 easy negative (tIoU 0)
    assert sorted(target.tolist()) == [0.0, 1.0]
    rec = []
    ab_loss(one_level_head(match_on='anchors'), outs(dc=2.5), [5., 9.], rec)
    # earlier variant: the default anchor [4, 8] has tIoU 3 / 5 with [5, 9]
    (pred, target), = rec
    assert max(target.tolist()) == pytest.approx(0.6)


def test_ab_samples_positives_hard_and_easy_negatives():
    # dc = 1: prior 1 positive (tIoU 0.82); prior 0 ([0.4, 4.4], tIoU 0.05) predicts overlap
    # sigmoid(5) > 0.5: a hard negative; priors 2, 3 (tIoU 0, overlap 0.5): one easy drawn
    rec = []
    losses = ab_loss(one_level_head(), outs(dc=1.0, overlap=(5., 0., 0., 0.)), [4., 8.], rec)
    (pred, target), = rec
    t1 = 3.6 / 4.4
    assert pred.numel() == 3
    torch.testing.assert_close(sorted(target.tolist()), [0.0, 0.4 / 7.6, t1])
    p = torch.sigmoid(torch.tensor([5., 0., 0.]))
    expect = 10 * F.smooth_l1_loss(p, torch.tensor([0.4 / 7.6, t1, 0.0]), reduction='sum') / 3
    torch.testing.assert_close(losses['loss_ab_overlap'], expect)
    # CE over the same 3 samples: all logits 0 -> log 2
    torch.testing.assert_close(losses['loss_ab_cls'], torch.log(torch.tensor(2.0)))


def test_ab_old_overlap_loss_and_double_sigmoid_rejected():
    head = one_level_head(loss_overlap=dict(type='MSELoss', loss_weight=10.0),
                          sampler=dict(type='HardNegativeSampler', neg_pos_ratio=1.0))
    losses = ab_loss(head, outs(dc=1.0), [4., 8.])
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match='use_sigmoid'):
        one_level_head(loss_overlap=dict(type='MSELoss', use_sigmoid=True))
    for bad in (dict(match_on='gt'), dict(reg_loss_space='cw'), dict(candidates='all'),
                dict(background_thr=0.0), dict(background_thr=1.5)):
        with pytest.raises(ValueError, match=list(bad)[0]):
            one_level_head(**bad)


def af_head(**kw):
    return MODELS.build(dict(type='A2NetAnchorFreeHead', num_classes=1, in_channels=(8, 8),
                             feat_channels=8, point_generator=dict(
                                 type='PointGenerator1d', regress_ranges=((0, 8), (8, 1e4))),
                             **kw))


def test_af_regression_in_base_units_and_per_point_average():
    torch.manual_seed(0)
    feats = [torch.randn(1, 8, 8), torch.randn(1, 8, 4)]  # window 16: strides 2 and 4
    masks = torch.ones(1, 16, dtype=torch.bool)
    # length 12: level 1 (stride 4), centres 2, 6, 10, 14 inside (bounds included)
    data = make_data_samples([([[2., 14.]], [0])], 16)
    head = af_head()
    raw = head(feats)
    _, reg = raw
    with torch.no_grad():  # predictions 0: the loss is the smooth-L1 of the targets
        for r in reg:
            r.zero_()
    new = head.loss_by_feat(raw, masks, data)['loss_af_reg']
    # base units (2 snippets): (0, 6), (2, 4), (4, 2), (6, 0); summed over both ends per point
    sl1 = {0: 0.0, 2: 1.5, 4: 3.5, 6: 5.5}
    torch.testing.assert_close(new, torch.tensor((sl1[6] + sl1[2] + sl1[4]) * 2 / 4))
    old = af_head(regress_unit='stride', reg_avg='coords').loss_by_feat(raw, masks, data)
    # level stride 4: (0, 3), (1, 2), (2, 1), (3, 0), averaged over 8 coordinates
    torch.testing.assert_close(old['loss_af_reg'], torch.tensor((2.5 + 0.5 + 1.5) * 2 / 8))
    # decoding uses the same unit: prediction 1 on both sides of centre 6 -> [4, 8]
    with torch.no_grad():
        for r in reg:
            r.fill_(1.0)
    head.test_cfg = dict(pre_nms_topk=-1, score_thr=-1.0)
    head.candidates = 'per_class'
    segs = head.predict_by_feat(raw, masks)[0]['segments']
    assert [4.0, 8.0] in segs.tolist()
    with pytest.raises(ValueError, match='regress_unit'):
        af_head(regress_unit='level')


def test_foreground_argmax_candidates_authors_rule():
    segs = torch.tensor([[0., 1.], [1., 2.], [2., 3.], [3., 4.]])
    probs = torch.tensor([[0.1, 0.7, 0.2],      # class 1
                          [0.2, 0.3, 0.5],      # background most likely: still class 1
                          [0.45, 0.1, 0.45],    # tie: the first (class 0)
                          [0.01, 0.005, 0.985]])  # background >= 0.98
    # the authors' anchor-free rule: no background filter, the best foreground class
    out = class_candidates(segs, probs, 'foreground_argmax', -1, 0.0)
    assert out['labels'].tolist() == [1, 1, 0, 0]
    torch.testing.assert_close(out['scores'], torch.tensor([0.7, 0.3, 0.45, 0.01]))
    assert out['segments'].tolist() == segs.tolist()
    # the anchor-based rule: score = probability x overlap, and a prior whose background
    # probability reaches 0.98 gives none
    factor = torch.tensor([0.1, 1.0, 1.0, 1.0])
    out = class_candidates(segs, probs, 'foreground_argmax', -1, 0.0, factor=factor,
                           background_thr=0.98)
    assert out['labels'].tolist() == [1, 1, 0]
    torch.testing.assert_close(out['scores'], torch.tensor([0.07, 0.3, 0.45]))
    assert out['segments'].tolist() == segs[:3].tolist()
    # the heads default to it, with the authors' background thresholds
    assert one_level_head().candidates == 'foreground_argmax'
    assert one_level_head().background_thr == 0.98
    assert af_head().candidates == 'foreground_argmax' and af_head().background_thr is None


def test_argmax_candidates_with_background_filter():
    segs = torch.tensor([[0., 1.], [1., 2.], [2., 3.]])
    probs = torch.tensor([[0.1, 0.7, 0.2],     # class 1
                          [0.2, 0.3, 0.5],     # background: no candidate
                          [0.45, 0.1, 0.45]])  # tie: the first (class 0)
    out = class_candidates(segs, probs, 'argmax', -1, 0.0, factor=torch.tensor([.5, 1., 1.]))
    assert out['labels'].tolist() == [1, 0]
    torch.testing.assert_close(out['scores'], torch.tensor([0.35, 0.45]))
    assert out['segments'].tolist() == [[0., 1.], [2., 3.]]
    # test_cfg cut keeps its meaning: score_thr (strictly above) and pre_nms_topk
    assert class_candidates(segs, probs, 'argmax', -1, 0.4)['labels'].tolist() == [1, 0]
    assert class_candidates(segs, probs, 'argmax', 1, 0.0)['scores'].tolist() == [
        pytest.approx(0.7)]
    # a negative score_thr never brings back non-argmax classes
    assert class_candidates(segs, probs, 'argmax', -1, -1.0)['scores'].numel() == 2
    # earlier variant: every (prior, class) pair
    assert class_candidates(segs, probs, 'per_class', -1, 0.0)['scores'].numel() == 6
