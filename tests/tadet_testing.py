"""Test helpers (importable as ``tadet_testing``): tiny datasets and configs made per test,
and the one builder of hand-made data samples / feature batches for model tests."""
import json
import os
import os.path as osp

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.join(REPO, 'tests', 'fixtures')


def forget_module(name: str = 'tiny_tad') -> None:
    """Drop an imported fixture module and everything it registered, so the next test can
    import it afresh (mmengine refuses to register a name twice)."""
    import sys

    from tadet.registry import HOOKS, MODELS
    sys.modules.pop(name, None)
    for registry in (MODELS, HOOKS):
        for key in [k for k, v in registry._module_dict.items() if v.__module__ == name]:
            registry._module_dict.pop(key)


def make_data_samples(gts, num_snippets, fps=10.0, feature_stride=1.0, offset_frames=0.0,
                      duration='auto', video_name='v', window_start=0, snippet_scale=1.0):
    """One ``TADDataSample`` per window: ``gts`` is a list of (segments, labels), segments in
    window snippets ([[s, e], ...], may be empty) and their class indices.

    ``duration='auto'`` = num_snippets * feature_stride / fps seconds; ``None`` for
    ``duration`` / ``window_start`` / ``snippet_scale`` leaves that key out of the metainfo.
    ``video_name`` may hold ``{i}`` (the window's index)."""
    import torch
    from mmengine.structures import InstanceData

    from tadet.structures import TADDataSample
    meta = dict(fps=fps, feature_stride=feature_stride, offset_frames=offset_frames,
                duration=num_snippets * feature_stride / fps if duration == 'auto' else duration,
                num_snippets=num_snippets, window_start=window_start,
                snippet_scale=snippet_scale)
    out = []
    for i, (segs, labels) in enumerate(gts):
        s = TADDataSample()
        g = InstanceData()
        g.segments = torch.tensor(segs, dtype=torch.float32).reshape(-1, 2)
        g.labels = torch.tensor(labels, dtype=torch.long)
        s.gt_instances = g
        s.set_metainfo(dict(video_name=video_name.format(i=i),
                            **{k: v for k, v in meta.items() if v is not None}))
        out.append(s)
    return out


def make_feature_batch(gts, num_snippets, in_channels=8, seed=0, noise=0.3,
                       boundary_channels=None, pad_first_from=None):
    """Features [B, C, T] (seeded noise) with class evidence inside each action of ``gts``
    (+2 on the label's channel), so a tiny model can fit them, and masks [B, T].

    ``boundary_channels=(cs, ce)`` adds a start cue on ``cs`` at s and an end cue on ``ce`` at
    e - 1; ``pad_first_from=t`` pads window 0 from snippet t on."""
    import torch
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(gts), in_channels, num_snippets, generator=g) * noise
    for b, (segs, labels) in enumerate(gts):
        for (s, e), lab in zip(segs, labels):
            x[b, lab, int(s):int(e)] += 2.0
            if boundary_channels is not None:
                x[b, boundary_channels[0], int(s)] += 2.0
                x[b, boundary_channels[1], int(e) - 1] += 2.0
    masks = torch.ones(len(gts), num_snippets, dtype=torch.bool)
    if pad_first_from is not None:
        masks[0, pad_first_from:] = False
    return x, masks


def make_tiny_dataset(root, num_train=4, num_test=2, feat_dim=8, num_snippets=48, fps=10.0,
                      stride=2, offset=0, seed=0, classes=('jump', 'run')):
    """Writes ann.json, classes.txt and one [T, C] .npy per video; features carry class
    evidence inside actions so a tiny model can learn. Returns a dict of paths/geometry."""
    rng = np.random.default_rng(seed)
    feat_root = osp.join(root, 'features')
    os.makedirs(feat_root, exist_ok=True)
    database = {}
    spsec = fps / stride  # snippets per second
    for subset, n in (('train', num_train), ('test', num_test)):
        for i in range(n):
            name = f'{subset}_video_{i}'
            t = num_snippets + int(rng.integers(0, 16))
            feats = rng.normal(0, 0.3, (t, feat_dim)).astype(np.float32)
            anns = []
            pos = 2
            while pos + 10 < t:
                length = int(rng.integers(4, 10))
                label = int(rng.integers(0, len(classes)))
                feats[pos:pos + length, label] += 2.0
                anns.append(dict(segment=[pos / spsec, (pos + length) / spsec],
                                 label=classes[label]))
                pos += length + int(rng.integers(4, 10))
            np.save(osp.join(feat_root, name + '.npy'), feats)
            database[name] = dict(subset=subset, duration=t / spsec, annotations=anns)
    ann_file = osp.join(root, 'ann.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(database=database), f)
    class_file = osp.join(root, 'classes.txt')
    with open(class_file, 'w') as f:
        f.write('\n'.join(classes) + '\n')
    return dict(root=str(root), ann_file=ann_file, feature_root=feat_root, classes=class_file,
                feat_dim=feat_dim, fps=fps, feature_stride=stride, offset_frames=offset,
                num_classes=len(classes), class_names=list(classes))


def tiny_config_text(data, window=16, epochs=2, extra=''):
    """A complete tadet config (Python text) training TinyTAD on ``data``."""
    return f'''
_base_ = [{osp.join(REPO, 'configs/_base_/default_runtime.py')!r}]
custom_imports = dict(imports=['tiny_tad'], allow_failed_imports=False)
dataset = dict(type='TADDataset', ann_file={data['ann_file']!r},
               feature_root={data['feature_root']!r}, classes={data['classes']!r},
               fps={data['fps']}, feature_stride={data['feature_stride']},
               offset_frames={data['offset_frames']})
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, subset='train', window=dict(size={window}, stride={window // 2}),
                 pipeline=[dict(type='LoadFeatures', feat_dim={data['feat_dim']}),
                           dict(type='PadFeatures', size={window}),
                           dict(type='PackTADInputs')]))
val_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, subset='test', test_mode=True,
                 pipeline=[dict(type='LoadFeatures', feat_dim={data['feat_dim']}),
                           dict(type='PackTADInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.5, 0.7])
test_evaluator = val_evaluator
model = dict(type='TinyTAD', in_channels={data['feat_dim']}, num_classes={data['num_classes']},
             test_cfg=dict(sliding_window=dict(size={window}, stride={window // 2}),
                           nms=dict(method='hard', iou_threshold=0.5), max_per_video=50))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={epochs}, val_interval={epochs})
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2))
default_hooks = dict(logger=dict(interval=1))
{extra}
'''
