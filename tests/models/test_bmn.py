"""BMN: encoder, TEM (boundary targets, balanced BCE), boundary-matching head (grid tIoU
targets, sampling weights, losses), detector train step and predict on CPU."""
import os.path as osp

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
    gts = [torch.tensor([[4.0, 10.0]]), torch.tensor([[2.0, 6.0]])]
    losses = tem.loss(start, end, masks, gts)
    assert set(losses) == {'loss_start', 'loss_end'}
    # changing predictions at padded positions changes nothing once they are masked
    masks[1, 16:] = False
    base = tem.loss(start, end, masks, gts)['loss_start']
    start2 = start.clone()
    start2[1, 16:] = 0.99
    torch.testing.assert_close(tem.loss(start2, end, masks, gts)['loss_start'], base)
