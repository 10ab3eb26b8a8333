"""Generic 1D task modules: tIoU, anchors, points, segment coder, assigners, sampler."""
import math

import pytest
import torch

import tadet.models  # noqa: F401  (registers everything)
from tadet.models.task_modules import (AnchorGenerator1d, DeltaCWSegmentCoder,
                                       HardNegativeSampler, MaxTIoUAssigner, PointGenerator1d,
                                       RegressRangeAssigner, SegmentAssignResult,
                                       prior_valid_mask, segment_cw_to_se, segment_se_to_cw,
                                       segment_tiou)
from tadet.registry import TASK_UTILS


def test_tiou_values_and_aligned():
    a = torch.tensor([[0., 10.], [5., 6.]])
    b = torch.tensor([[0., 10.], [5., 15.], [20., 30.]])
    iou = segment_tiou(a, b)
    assert iou.shape == (2, 3)
    torch.testing.assert_close(iou[0], torch.tensor([1.0, 5 / 15, 0.0]))
    torch.testing.assert_close(iou[1], torch.tensor([0.1, 0.1, 0.0]))
    torch.testing.assert_close(segment_tiou(a, b[:2], aligned=True), torch.tensor([1.0, 0.1]))
    # zero-length segments give 0, never NaN
    z = torch.tensor([[3., 3.]])
    assert segment_tiou(z, z).item() == 0.0


def test_cw_se_round_trip():
    se = torch.tensor([[1., 5.], [-2., 8.]])
    cw = segment_se_to_cw(se)
    torch.testing.assert_close(cw, torch.tensor([[3., 4.], [3., 10.]]))
    torch.testing.assert_close(segment_cw_to_se(cw), se)


def test_anchor_generator_centres_widths_and_order():
    gen = TASK_UTILS.build(dict(type='AnchorGenerator1d', scales=(0.5, 1.0, 2.0)))
    assert gen.num_base_anchors == 3
    lvl0, lvl1 = gen.grid_anchors([4, 2], window_length=8)
    assert lvl0.shape == (12, 2) and lvl1.shape == (6, 2)
    cw0 = segment_se_to_cw(lvl0).reshape(4, 3, 2)
    # level 0: stride 2, centres (i + 0.5) * 2, widths scale * 2
    torch.testing.assert_close(cw0[:, 0, 0], torch.tensor([1., 3., 5., 7.]))
    torch.testing.assert_close(cw0[0, :, 1], torch.tensor([1., 2., 4.]))
    cw1 = segment_se_to_cw(lvl1).reshape(2, 3, 2)
    torch.testing.assert_close(cw1[:, 0, 0], torch.tensor([2., 6.]))
    torch.testing.assert_close(cw1[0, :, 1], torch.tensor([2., 4., 8.]))
    # a head output [B, A*K, T] flattens into the same (position-major) order
    t, a, k = 4, 3, 2
    out = torch.zeros(1, a * k, t)
    for ai in range(a):
        for ti in range(t):
            out[0, ai * k:(ai + 1) * k, ti] = ti * a + ai  # = anchor index
    flat = AnchorGenerator1d.flatten_head_output(out, a)
    assert flat.shape == (1, t * a, k)
    torch.testing.assert_close(flat[0, :, 0], torch.arange(t * a, dtype=torch.float32))


def test_anchor_generator_per_level_scales():
    gen = AnchorGenerator1d(scales=[(1.0,), (2.0,)])
    l0, l1 = gen.grid_anchors([2, 1], 4)
    torch.testing.assert_close(l0, torch.tensor([[0., 2.], [2., 4.]]))
    torch.testing.assert_close(l1, torch.tensor([[-2., 6.]]))
    with pytest.raises(ValueError):
        gen.grid_anchors([2, 1, 1], 4)


def test_point_generator():
    gen = PointGenerator1d(regress_ranges=((0, 4), (4, 1e4)))
    p0, p1 = gen.grid_points([4, 2], 8)
    torch.testing.assert_close(p0, torch.tensor([[1., 2.], [3., 2.], [5., 2.], [7., 2.]]))
    torch.testing.assert_close(p1, torch.tensor([[2., 4.], [6., 4.]]))
    assert len(gen.level_ranges(2)) == 2
    with pytest.raises(ValueError, match='regress_ranges'):
        gen.level_ranges(3)
    with pytest.raises(ValueError):
        PointGenerator1d(regress_ranges=((4, 4),))


def test_coder_round_trip_and_formula():
    torch.manual_seed(0)
    coder = TASK_UTILS.build(dict(type='DeltaCWSegmentCoder', center_scale=0.1,
                                  width_scale=0.1))
    c = torch.rand(50) * 100
    w = torch.rand(50) * 20 + 1
    anchors = segment_cw_to_se(torch.stack([c, w], 1))
    gts = segment_cw_to_se(torch.stack([c + torch.randn(50) * 3, w * torch.rand(50) * 2 + 0.5],
                                       1))
    deltas = coder.encode(anchors, gts)
    torch.testing.assert_close(coder.decode(anchors, deltas), gts, atol=1e-4, rtol=1e-5)
    # decode: c = c_a + 0.1 * dc * w_a, w = w_a * exp(0.1 * dw)
    a = torch.tensor([[10., 20.]])  # c_a 15, w_a 10
    seg = coder.decode(a, torch.tensor([[2.0, math.log(2.0) / 0.1]]))
    torch.testing.assert_close(seg, torch.tensor([[7., 27.]]))  # c 17, w 20
    # an untrained head cannot overflow
    assert torch.isfinite(coder.decode(a, torch.tensor([[0., 1e6]]))).all()


def test_max_tiou_assigner_hand_made():
    anchors = torch.tensor([[0., 10.], [0., 4.], [20., 30.], [2., 12.], [0., 20.], [40., 50.]])
    gts = torch.tensor([[0., 10.], [38., 50.]])
    labels = torch.tensor([3, 1])
    res = MaxTIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5).assign(anchors, gts, labels)
    # tIoUs with gt0: 1, 0.4, 0, 8/12, 0.5 (exactly: ignored); gt1: anchor 5 -> 10/12
    assert res.gt_inds.tolist() == [1, 0, 0, 1, -1, 2]
    assert res.labels.tolist() == [3, -1, -1, 3, -1, 1]
    torch.testing.assert_close(res.max_tious[:2], torch.tensor([1.0, 0.4]))
    assert res.pos_mask.sum() == 3 and res.neg_mask.sum() == 2
    # invalid priors (in padding) are ignored
    valid = torch.tensor([True, True, True, False, True, True])
    assert MaxTIoUAssigner().assign(anchors, gts, labels, valid).gt_inds[3] == -1
    # no ground truth: everything negative
    empty = MaxTIoUAssigner().assign(anchors, torch.zeros(0, 2), torch.zeros(0).long())
    assert empty.gt_inds.tolist() == [0] * 6 and empty.max_tious.sum() == 0
    # low-quality matching gives a gt without any > 0.5 anchor its best anchor
    lq = MaxTIoUAssigner(match_low_quality=True, min_pos_iou=0.1).assign(
        anchors[1:3], gts[:1], labels[:1])
    assert lq.gt_inds.tolist() == [1, 0] and lq.labels.tolist() == [3, -1]


def test_regress_range_assigner_hand_made():
    assigner = TASK_UTILS.build(dict(type='RegressRangeAssigner'))
    # points (centre, stride); level 0 (stride 2) takes lengths [0, 4), level 1 (stride 4) [4, 1e4)
    points = torch.tensor([[1., 2.], [3., 2.], [5., 2.], [7., 2.], [2., 4.], [6., 4.]])
    ranges = torch.tensor([[0., 4.]] * 4 + [[4., 1e4]] * 2)
    gts = torch.tensor([[2., 5.],    # length 3: level 0, contains centres 3 and 5 (bound)
                        [0., 8.],    # length 8: level 1, contains 2 and 6
                        [5., 10.]])  # length 5: level 1, contains 6 -> shorter than gt 1 there
    labels = torch.tensor([4, 0, 2])
    res = assigner.assign(points, gts, labels, ranges)
    assert res.gt_inds.tolist() == [0, 1, 1, 0, 2, 3]
    assert res.labels.tolist() == [-1, 4, 4, -1, 0, 2]
    assert res.max_tious is None and res.pos_mask.sum() == 4 and res.neg_mask.sum() == 2
    # equal lengths (one segment with two labels): the first ground truth wins
    twice = assigner.assign(points, gts[[1, 1]], torch.tensor([5, 6]), ranges)
    assert twice.gt_inds.tolist() == [0, 0, 0, 0, 1, 1] and twice.labels[-1] == 5
    # invalid points are ignored, no ground truth: every point negative
    valid = torch.tensor([True, False, True, True, True, True])
    assert assigner.assign(points, gts, labels, ranges, valid).gt_inds.tolist() == [
        0, -1, 1, 0, 2, 3]
    empty = assigner.assign(points, torch.zeros(0, 2), torch.zeros(0).long(), ranges)
    assert empty.gt_inds.tolist() == [0] * 6 and empty.labels.tolist() == [-1] * 6


def test_prior_valid_mask():
    masks = torch.tensor([[True, True, False, False], [True, True, True, True]])
    anchors = torch.tensor([[0., 2.], [1., 4.], [3., 4.]])  # centres 1, 2.5, 3.5
    assert prior_valid_mask(anchors, masks).tolist() == [[True, False, False],
                                                         [True, True, True]]
    # centres given directly, outside the window clamped to its ends
    assert prior_valid_mask(torch.tensor([-1., 1.5, 9.]), masks).tolist() == [
        [True, True, False], [True, True, True]]


def _result(gt_inds):
    gt_inds = torch.tensor(gt_inds)
    return SegmentAssignResult(gt_inds, torch.zeros(len(gt_inds)),
                               torch.where(gt_inds > 0, gt_inds - 1, -1))


def test_hard_negative_sampler_one_to_one_hardest():
    res = _result([1, 0, 0, -1, 2, 0, 0, 0])
    hard = torch.tensor([0., .1, .9, 5., 0., .5, .2, .8])  # ignored index 3 is hardest
    pos, neg = TASK_UTILS.build(dict(type='HardNegativeSampler', neg_pos_ratio=1.0)).sample(
        res, hard)
    assert pos.tolist() == [0, 4]
    assert neg.tolist() == [2, 7]  # the two hardest negatives, never the ignored one


def test_hard_negative_sampler_options():
    torch.manual_seed(0)
    res = _result([0, 0, 0, 0, 0, 0])
    hard = torch.arange(6.)
    pos, neg = HardNegativeSampler(min_neg=2).sample(res, hard)
    assert pos.numel() == 0 and neg.tolist() == [4, 5]
    assert HardNegativeSampler().sample(res, hard)[1].numel() == 0
    res = _result([1, 0, 0, 0, 0, 0, 0, 0, 0])
    _, neg = HardNegativeSampler(neg_pos_ratio=4, hard_fraction=0.5).sample(res, torch.arange(9.))
    assert neg.numel() == 4 and {7, 8} <= set(neg.tolist()) and 0 not in neg.tolist()
    # fewer negatives than asked: all of them
    _, neg = HardNegativeSampler(neg_pos_ratio=100).sample(res, torch.arange(9.))
    assert neg.tolist() == list(range(1, 9))
    # random negatives without hardness scores
    _, neg = HardNegativeSampler(neg_pos_ratio=3).sample(res, None)
    assert neg.numel() == 3
    with pytest.raises(ValueError):
        HardNegativeSampler(hard_fraction=2.0)


def test_overlap_hard_negative_sampler_authors_rule():
    from tadet.models.task_modules import OverlapHardNegativeSampler, SegmentAssignResult
    torch.manual_seed(0)
    # prior 0 positive; 1 and 5 negatives predicting overlap > 0.5 (hard); 2-4 easy; 6 ignored
    gt_inds = torch.tensor([1, 0, 0, 0, 0, 0, -1])
    res = SegmentAssignResult(gt_inds, torch.zeros(7), torch.full((7,), -1))
    overlap = torch.tensor([.9, .9, .2, .2, .2, .6, .9])
    s = OverlapHardNegativeSampler()
    pos, neg = s.sample(res, overlap)
    assert pos.tolist() == [0]
    assert {1, 5} <= set(neg.tolist()) and neg.numel() == 3  # all hard + 1 easy (1:1)
    assert set(neg.tolist()) - {1, 5} <= {2, 3, 4} and 6 not in neg.tolist()
    # exactly 0.5 is not hard (strictly above)
    _, neg = s.sample(res, torch.full((7,), 0.5))
    assert neg.numel() == 1
    # no positive: half of the easy negatives at random (the authors' rule)
    res = SegmentAssignResult(torch.zeros(6, dtype=torch.long), torch.zeros(6),
                              torch.full((6,), -1))
    pos, neg = s.sample(res, torch.zeros(6))
    assert pos.numel() == 0 and neg.numel() == 3
    with pytest.raises(ValueError):
        OverlapHardNegativeSampler(no_pos_easy_fraction=2.0)
