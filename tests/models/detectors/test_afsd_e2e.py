"""AFSD end to end on frames: tiny synthetic clips, tiny mmaction ResNet3d (I3D-style)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from tadet.datasets import FramesDataset
from tadet.registry import MODELS

init_default_scope('tadet')


pytestmark = pytest.mark.usefixtures('single_thread')


GN = dict(type='GN', num_groups=4)


def write_clips(root, lengths=(24, 20)):
    rng = np.random.default_rng(0)
    database = {}
    for i, n in enumerate(lengths):
        name = f'v{i}'
        folder = osp.join(root, name)
        os.makedirs(folder)
        for f in range(n):
            img = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
            if 4 <= f < 12:
                img[:] = 200
            cv2.imwrite(osp.join(folder, f'img_{f + 1:05d}.jpg'), img)
        database[name] = dict(subset='train', duration=n / 10.0,
                              annotations=[dict(segment=[0.4, 1.2], label='jump')])
    ann = osp.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(dict(database=database), f)
    return ann


def e2e_cfg():
    return dict(
        type='AFSD', num_classes=1,
        data_preprocessor=dict(type='TADFramesDataPreprocessor', pad_to_multiple=16),
        backbone=dict(type='mmaction.ResNet3d', depth=18, pretrained=None, pretrained2d=False,
                      base_channels=8, conv1_stride_t=2, pool1_stride_t=2, norm_eval=False),
        neck=dict(type='AFSDPyramidNeck', in_channels=64, channels=16, num_levels=3,
                  norm_cfg=GN),
        frame_branch=dict(type='AFSDFrameLevelBranch', in_channels=16, out_channels=16,
                          norm_cfg=GN),
        head=dict(type='AFSDHead',
                  coarse_head=dict(type='AFSDCoarseHead', num_classes=1, in_channels=16,
                                   feat_channels=16, num_levels=3, norm_cfg=GN),
                  refine_head=dict(type='AFSDRefineHead', num_classes=1, in_channels=16,
                                   frame_channels=16, feat_channels=16, norm_cfg=GN),
                  assigner=dict(type='AFSDAssigner', keep_best_per_gt=True)),
        contrastive_min_length=4,
        test_cfg=dict(sliding_window=dict(size=16, stride=8),
                      nms=dict(method='gaussian', sigma=0.5, multiclass=True)))


def test_e2e_train_and_predict_step(tmp_path):
    ann = write_clips(str(tmp_path))
    common = dict(ann_file=ann, data_root=str(tmp_path), subset='train', fps=10.0)
    train = FramesDataset(**common, window=dict(size=16, stride=8, min_gt_coverage=0.5),
                          pipeline=[dict(type='LoadFrameWindow'),
                                    dict(type='RandomCropFrames', size=24),
                                    dict(type='NormalizeFrames'), dict(type='PackTADFrames')])
    test = FramesDataset(**common, test_mode=True,
                         pipeline=[dict(type='LoadFrameWindow'),
                                   dict(type='CenterCropFrames', size=24),
                                   dict(type='NormalizeFrames'), dict(type='PackTADFrames')])
    torch.manual_seed(0)
    np.random.seed(0)
    model = MODELS.build(e2e_cfg())
    assert type(model.backbone).__name__ == 'ResNet3d'
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = model.data_preprocessor(pseudo_collate([train[i] for i in range(len(train))]), True)
    assert batch['inputs'].shape[1:] == (3, 16, 24, 24)
    losses = model(**batch, mode='loss')
    assert {'loss_coarse_cls', 'loss_refine_loc', 'loss_bcl', 'loss_contrastive'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    optim.zero_grad()
    sum(losses.values()).backward()
    # the whole network trains end to end: backbone and frame-level branch get gradients
    assert model.backbone.conv1.conv.weight.grad.abs().sum() > 0
    assert sum(p.grad.abs().sum() for p in model.frame_branch.parameters()) > 0
    optim.step()

    model.eval()
    batch = model.data_preprocessor(pseudo_collate([test[0], test[1]]), False)
    assert batch['masks'].sum(1).tolist() == [24, 20]
    with torch.no_grad():
        results = model(**batch, mode='predict')
    for res in results:
        pred = res.pred_instances
        assert pred.segments.shape[1] == 2 and (pred.labels == 0).all()
        # seconds inside the video
        assert (pred.segments >= 0).all() and (pred.segments <= res.duration + 1e-4).all()
    # tensor mode on frames (FLOPs counting)
    outs = model(batch['inputs'][:, :, :16])
    # I3D temporal stride 8 (conv1, pool1, pool2): 16 frames -> 2 -> levels 2, 1, 1
    assert outs[0].shape == (2, 2 + 1 + 1, 2)
