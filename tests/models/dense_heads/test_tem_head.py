"""TEMHead (BMN's / RCL's temporal evaluation module): boundary probabilities, the head
contract, padding masked out of the loss."""
import pytest
import torch

import tadet.models  # noqa: F401
from tadet.registry import MODELS

from tadet_testing import make_data_samples

pytestmark = pytest.mark.usefixtures('single_thread')


def test_tem_head_loss_masks_padding():
    torch.manual_seed(0)
    tem = MODELS.build(dict(type='TEMHead', in_channels=16, feat_channels=16))
    feats = torch.randn(2, 16, 24)
    start, end = tem(feats)
    assert start.shape == end.shape == (2, 24)
    assert ((start > 0) & (start < 1)).all()
    masks = torch.ones(2, 24, dtype=torch.bool)
    gts = make_data_samples([([[4.0, 10.0]], [0]), ([[2.0, 6.0]], [1])], 24)
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
