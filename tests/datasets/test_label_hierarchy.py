"""Dataset side of one segment with several labels (issue 16.1): ``label_hierarchy``
{child: parent} is validated, resolved to (child_idx, parent_idx) pairs carried by every
sample's metainfo up to the model, and segments whose labels it does not relate are warned
about at load."""
import json
import os.path as osp
import warnings

import numpy as np
import pytest
from mmengine.dataset import pseudo_collate

import tadet.models  # noqa: F401
from tadet.datasets import TADDataset
from tadet.datasets.tad_dataset import Thumos14Dataset
from tadet.registry import MODELS

from tadet_testing import REPO

CLASSES = ['Diving', 'CliffDiving', 'Run']
PIPELINE = [dict(type='LoadFeatures'), dict(type='PackTADInputs')]


def write(root, extra=()):
    """Two videos; v0 has one segment annotated Diving and CliffDiving."""
    anns = {'v0': [dict(segment=[1.0, 3.0], label='Diving'),
                   dict(segment=[1.0, 3.0], label='CliffDiving'),
                   dict(segment=[4.0, 5.0], label='Run')] + list(extra),
            'v1': [dict(segment=[0.5, 2.0], label='Run')]}
    db = {v: dict(subset='train', duration=6.0, annotations=a) for v, a in anns.items()}
    ann = osp.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(dict(database=db), f)
    for v in anns:
        np.save(osp.join(root, v + '.npy'), np.zeros((60, 4), np.float32))
    return ann


def build(root, extra=(), **kw):
    kw.setdefault('label_hierarchy', dict(CliffDiving='Diving'))
    return TADDataset(ann_file=write(root, extra), feature_root=str(root), classes=CLASSES,
                      fps=10.0, pipeline=PIPELINE, **kw)


def test_metainfo_carries_index_pairs_to_the_model(tmp_path):
    pre = MODELS.build(dict(type='TADDataPreprocessor'))
    for kw in (dict(test_mode=True), dict(window=dict(size=32, stride=16))):
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # the hierarchy relates the only pair: no warning
            ds = build(tmp_path, **kw)
        assert ds.metainfo['label_hierarchy'] == ((1, 0),)
        batch = pre(pseudo_collate([ds[0], ds[1]]), training=not kw.get('test_mode', False))
        for s in batch['data_samples']:
            assert s.metainfo['label_hierarchy'] == ((1, 0),)
    # none declared: an empty tuple, and the unrelated pair is warned about
    with pytest.warns(UserWarning, match='Diving \\+ CliffDiving: 1'):
        ds = build(tmp_path, label_hierarchy=None, test_mode=True)
    assert ds[0]['data_samples'].metainfo['label_hierarchy'] == ()


def test_unknown_names_and_cycles_are_errors(tmp_path):
    with pytest.raises(ValueError, match="'CliffDivng'.*'CliffDivng'"):
        build(tmp_path, label_hierarchy=dict(CliffDivng='Diving'), test_mode=True)
    with pytest.raises(ValueError, match="'CliffDiving'.*'Divin'"):
        build(tmp_path, label_hierarchy=dict(CliffDiving='Divin'), test_mode=True)
    with pytest.raises(ValueError, match='cycle'):
        build(tmp_path, label_hierarchy=dict(CliffDiving='Diving', Diving='CliffDiving'),
              test_mode=True)
    with pytest.raises(ValueError, match='own parent'):
        build(tmp_path, label_hierarchy=dict(Run='Run'), test_mode=True)
    with pytest.raises(ValueError, match='dict'):
        build(tmp_path, label_hierarchy=[('CliffDiving', 'Diving')], test_mode=True)


def test_unrelated_labels_warn_once_with_counts(tmp_path):
    extra = [dict(segment=[4.0, 5.0], label='Diving')]  # Run + Diving on one segment
    with pytest.warns(UserWarning) as rec:
        build(tmp_path, extra=extra, test_mode=True)
    msgs = [str(r.message) for r in rec if 'label_hierarchy does not relate' in str(r.message)]
    assert len(msgs) == 1 and 'Diving + Run: 1' in msgs[0] and 'CliffDiving' not in msgs[0]


def test_thumos14_default_hierarchy():
    ann = osp.join(REPO, 'data/thumos14/annotations')
    if not osp.isfile(osp.join(ann, 'thumos_gt.json')):
        pytest.skip('THUMOS14 annotations not shipped here')
    ds = Thumos14Dataset(ann_file=osp.join(ann, 'thumos_gt.json'),
                         classes=osp.join(ann, 'Class_Index_Detection.txt'),
                         video_info=(osp.join(ann, 'val_video_info.csv'),
                                     osp.join(ann, 'test_video_info.csv')),
                         subset='train', lazy_init=True)
    names = ds.metainfo['classes']
    assert ds.label_hierarchy == ((names.index('CliffDiving'), names.index('Diving')),)
