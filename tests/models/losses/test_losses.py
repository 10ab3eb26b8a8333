"""Generic losses: cross-entropy, smooth L1, MSE (overlap)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

import tadet.models  # noqa: F401
from tadet.models.losses import CrossEntropyLoss, MSELoss, SmoothL1Loss
from tadet.registry import MODELS


def setup_module():
    init_default_scope('tadet')


def test_cross_entropy_matches_torch_and_weights():
    torch.manual_seed(0)
    pred, target = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    loss = MODELS.build(dict(type='CrossEntropyLoss', loss_weight=2.0))
    assert isinstance(loss, CrossEntropyLoss)
    torch.testing.assert_close(loss(pred, target), 2 * F.cross_entropy(pred, target))
    per = F.cross_entropy(pred, target, reduction='none')
    torch.testing.assert_close(CrossEntropyLoss()(pred, target, avg_factor=3), per.sum() / 3)
    w = torch.tensor([1., 0., 1., 0., 1., 0.])
    torch.testing.assert_close(CrossEntropyLoss(reduction='sum')(pred, target, weight=w),
                               (per * w).sum())
    torch.testing.assert_close(CrossEntropyLoss()(pred, target, reduction_override='none'), per)
    # ignored targets are left out of the mean
    t2 = target.clone()
    t2[:3] = -100
    torch.testing.assert_close(CrossEntropyLoss()(pred, t2), per[3:].mean())


def test_smooth_l1_and_mse():
    pred = torch.tensor([0.0, 0.5, 3.0])
    target = torch.zeros(3)
    torch.testing.assert_close(SmoothL1Loss(reduction='none')(pred, target),
                               torch.tensor([0.0, 0.125, 2.5]))
    torch.testing.assert_close(SmoothL1Loss(beta=0.5, loss_weight=10.)(pred, target),
                               10 * F.smooth_l1_loss(pred, target, beta=0.5))
    torch.testing.assert_close(MSELoss()(pred, target), (pred ** 2).mean())
    logits, tiou = torch.tensor([0.0, 2.0]), torch.tensor([0.5, 1.0])
    torch.testing.assert_close(
        MODELS.build(dict(type='MSELoss', use_sigmoid=True))(logits, tiou),
        ((logits.sigmoid() - tiou) ** 2).mean())
    with pytest.raises(ValueError):
        MSELoss()(pred, target[:2])


def test_empty_inputs_give_zero_with_graph():
    for loss, pred, target in [(CrossEntropyLoss(), torch.zeros(0, 3, requires_grad=True),
                                torch.zeros(0).long()),
                               (SmoothL1Loss(), torch.zeros(0, 2, requires_grad=True),
                                torch.zeros(0, 2)),
                               (MSELoss(use_sigmoid=True), torch.zeros(0, requires_grad=True),
                                torch.zeros(0))]:
        out = loss(pred, target)
        assert out.item() == 0.0
        out.backward()


def test_bad_options_raise():
    with pytest.raises(ValueError, match='reduction'):
        SmoothL1Loss(reduction='avg')
    with pytest.raises(ValueError):
        SmoothL1Loss(beta=0)
    with pytest.raises(TypeError):
        MODELS.build(dict(type='CrossEntropyLoss', use_sigmoid=True))


def test_softmax_focal_background_defaults_to_last_column():
    from tadet.registry import MODELS
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0, alpha=0.75,
                             reduction='none'))
    pred = torch.zeros(2, 3)
    out = loss(pred, torch.tensor([2, 0]))  # background (last), foreground
    ce = torch.log(torch.tensor(3.0))
    torch.testing.assert_close(out, torch.stack([0.25 * ce, 0.75 * ce]))
