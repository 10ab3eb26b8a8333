import json
import os.path as osp

import numpy as np
import pytest

from tadet.datasets import AnnotationError, load_annotation_file, load_class_map, load_video_info

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
THUMOS = osp.join(REPO, 'data', 'thumos14', 'annotations')


def write(tmp_path, obj, name='ann.json'):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def test_real_thumos14_files():
    info = load_video_info([osp.join(THUMOS, 'val_video_info.csv'),
                            osp.join(THUMOS, 'test_video_info.csv')])
    classes = load_class_map(osp.join(THUMOS, 'Class_Index_Detection.txt'))
    assert len(classes) == 20 and classes[0] == 'BaseballPitch'
    durations = {k: v['duration'] for k, v in info.items()}
    train, _ = load_annotation_file(osp.join(THUMOS, 'thumos_gt.json'), 'train', classes,
                                    durations=durations)
    with pytest.warns(UserWarning, match='clipped'):
        test, _ = load_annotation_file(osp.join(THUMOS, 'thumos_gt.json'), 'test', classes,
                                       durations=durations)
    assert len(train) == 200 and len(test) == 210
    v = train[0]
    assert v['segments'].shape[1] == 2 and (v['segments'][:, 1] > v['segments'][:, 0]).all()
    assert info['video_test_0000004']['fps'] == 30.0


def test_subset_blocklist_and_class_order(tmp_path):
    ann = write(tmp_path, {'database': {
        'a': {'subset': 'train', 'annotations': [{'segment': ['1', '2'], 'label': 'y'}]},
        'b': {'subset': 'train', 'annotations': [{'segment': [1, 3], 'label': 'x'}]},
        'c': {'subset': 'test', 'annotations': []}}})
    videos, classes = load_annotation_file(ann, 'train', blocklist=['b'])
    assert classes == ['x', 'y'] and [v['video_name'] for v in videos] == ['a']
    assert videos[0]['labels'].tolist() == [1]
    np.testing.assert_allclose(videos[0]['segments'], [[1.0, 2.0]])


@pytest.mark.parametrize('bad, match', [
    ('{not json', 'not valid JSON'),
    ({'videos': {}}, '"database"'),
    ({'database': {'a': {'annotations': []}}}, '"subset"'),
    ({'database': {'a': {'subset': 's', 'annotations': [{'segment': [1, 2]}]}}}, '"label"'),
    ({'database': {'a': {'subset': 's', 'annotations': [{'segment': [3, 2], 'label': 'x'}]}}},
     'end <= start'),
    ({'database': {'a': {'subset': 's', 'annotations': [{'segment': ['x', 2], 'label': 'x'}]}}},
     'non-numeric'),
    ({'database': {'a': {'subset': 's', 'annotations': [{'segment': [1], 'label': 'x'}]}}},
     r'\[start, end\]'),
])
def test_malformed_annotation_errors(tmp_path, bad, match):
    with pytest.raises(AnnotationError, match=match):
        load_annotation_file(write(tmp_path, bad))


def test_label_missing_from_class_map(tmp_path):
    ann = write(tmp_path, {'database': {'a': {'subset': 's', 'annotations': [
        {'segment': [1, 2], 'label': 'swim'}]}}})
    with pytest.raises(AnnotationError, match="'swim' missing from the class map"):
        load_annotation_file(ann, classes=['run'])


def test_segments_outside_video_clipped_or_dropped(tmp_path):
    ann = write(tmp_path, {'database': {'a': {'subset': 's', 'duration': 10, 'annotations': [
        {'segment': [-1, 2], 'label': 'x'}, {'segment': [9, 12], 'label': 'x'},
        {'segment': [11, 12], 'label': 'x'}]}}})
    with pytest.warns(UserWarning, match='3 segment'):
        videos, _ = load_annotation_file(ann)
    np.testing.assert_allclose(videos[0]['segments'], [[0, 2], [9, 10]])


def test_unknown_subset_error(tmp_path):
    ann = write(tmp_path, {'database': {'a': {'subset': 'train', 'annotations': []}}})
    with pytest.raises(AnnotationError, match="no video left for subset='val'"):
        load_annotation_file(ann, 'val')


def test_video_info_errors(tmp_path):
    p = tmp_path / 'info.csv'
    p.write_text('video,fps\nv,30\n')
    with pytest.raises(AnnotationError, match='count'):
        load_video_info(str(p))
    with pytest.raises(FileNotFoundError):
        load_video_info(str(tmp_path / 'none.csv'))
