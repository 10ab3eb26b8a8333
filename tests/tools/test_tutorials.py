"""The tutorial configs (configs/tutorials, docs/tutorials) build, train one step and predict."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.structures import InstanceData

from tadet_testing import REPO

TUTORIALS = osp.join(REPO, 'configs', 'tutorials')


@pytest.fixture(autouse=True)
def repo_on_path():
    # tools/*.py put the repository root on sys.path; custom_imports of the tutorial need it
    sys.path.insert(0, REPO)
    yield
    sys.path.remove(REPO)


def one_step_and_predict(model):
    """One Adam step on a hand-made batch (losses finite, weights move), then detections of a
    300-snippet video through the shared inference path."""
    from tadet.apis import inference_detector
    from tadet.structures import TADDataSample
    torch.manual_seed(0)
    inputs = torch.randn(2, 64, 128)
    masks = torch.ones(2, 128, dtype=torch.bool)
    samples = []
    for segs, labels in (([[10.0, 30.0], [60.0, 70.0]], [3, 7]), ([[5.0, 100.0]], [1])):
        s = TADDataSample()
        s.gt_instances = InstanceData(segments=torch.tensor(segs), labels=torch.tensor(labels))
        samples.append(s)
    model.train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.loss(inputs, masks, samples)
    total = sum(v for v in losses.values())
    assert torch.isfinite(total) and total > 0
    optim.zero_grad()
    total.backward()
    optim.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model.eval()
    dets = inference_detector(model, torch.randn(300, 64), fps=30, feature_stride=4,
                              offset_frames=8, classes=[f'c{i}' for i in range(20)])
    duration = (299 * 4 + 16) / 30
    assert dets and all(0 <= d['segment'][0] <= d['segment'][1] <= duration + 1e-6
                        for d in dets)
    return losses


def test_compose_afsd_neck_a2net_heads():
    from tadet.apis import init_detector
    model = init_detector(osp.join(TUTORIALS, 'afsd_neck_a2net_heads_thumos14_synth.py'))
    assert type(model).__name__ == 'A2Net'
    assert type(model.neck).__name__ == 'AFSDPyramidNeck'
    assert type(model.anchor_head).__name__ == 'A2NetAnchorHead'
    assert type(model.anchor_free_head).__name__ == 'A2NetAnchorFreeHead'
    # the finer pyramid: level lengths 128 .. 4 for a 128-snippet window
    feats = model.neck(torch.zeros(1, 64, 128))
    assert [f.shape[-1] for f in feats] == [128, 64, 32, 16, 8, 4]
    losses = one_step_and_predict(model)
    # both A2Net heads train on the AFSD pyramid
    assert set(losses) == {'loss_ab_cls', 'loss_ab_overlap', 'loss_ab_reg', 'loss_af_cls',
                           'loss_af_reg'}


def test_custom_head_via_custom_imports():
    from tadet.apis import init_detector
    from tadet.registry import MODELS
    try:
        model = init_detector(osp.join(TUTORIALS, 'a2net_depthwise_head_thumos14_synth.py'))
        head = model.anchor_free_head
        assert type(head).__name__ == 'DepthwiseAnchorFreeHead'
        assert MODELS.get('DepthwiseAnchorFreeHead') is type(head)
        ref = init_detector(osp.join(REPO, 'configs', 'a2net', 'a2net_thumos14_synth.py'))
        n = sum(p.numel() for p in head.parameters())
        assert n < sum(p.numel() for p in ref.anchor_free_head.parameters())
        one_step_and_predict(model)
        with pytest.raises(TypeError, match='dw_kernel'):  # a misspelt key names itself
            MODELS.build(dict(type='DepthwiseAnchorFreeHead', num_classes=2, dw_kernel=3))
    finally:
        MODELS._module_dict.pop('DepthwiseAnchorFreeHead', None)
        sys.modules.pop('configs.tutorials.depthwise_head', None)


def test_tutorial_head_replaces_an_afsd_head_by_config():
    """The head contract: the same registered head serves A2Net (above) and AFSD, config only."""
    from tadet.apis import init_detector
    from tadet.registry import MODELS
    try:
        model = init_detector(osp.join(TUTORIALS, 'afsd_depthwise_head_thumos14_synth.py'))
        assert type(model).__name__ == 'AFSD'
        assert type(model.head).__name__ == 'DepthwiseAnchorFreeHead'
        losses = one_step_and_predict(model)
        # the head's own losses plus AFSD's boundary consistency losses
        assert {'loss_af_cls', 'loss_af_reg', 'loss_bcl', 'loss_contrastive'} <= set(losses)
    finally:
        MODELS._module_dict.pop('DepthwiseAnchorFreeHead', None)
        sys.modules.pop('configs.tutorials.depthwise_head', None)
