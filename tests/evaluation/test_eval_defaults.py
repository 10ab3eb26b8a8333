"""tools/evaluate.py (issue 17): default tIoUs follow the annotation's dataset and --help says
them; ground truth counted by the same rule as the configs and diagnose_detections.py."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'evaluate.py')
ANN_DIR = osp.join(ROOT, 'data', 'thumos14', 'annotations')


def _load_tool():
    spec = importlib.util.spec_from_file_location('tadet_tools_evaluate_defaults', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


evaluate = _load_tool()
ANET = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
THUMOS = [0.3, 0.4, 0.5, 0.6, 0.7]
DB = {'v1': {'subset': 'validation', 'annotations': [{'segment': [0, 10], 'label': 'A'}]}}
PRED = {'version': 'x', 'external_data': {}, 'results': {
    'v1': [{'segment': [0, 10], 'label': 'A', 'score': 0.9}]}}


@pytest.mark.parametrize('name,content,expected', [
    ('ann.json', dict(version='VERSION 1.3', database=DB), ANET),
    ('activity_net.v1-3.min.json', dict(database=DB), ANET),
    ('ann.json', dict(database=DB), THUMOS),
    ('thumos_gt.json', dict(database=DB), THUMOS),
])
def test_default_thresholds_follow_the_dataset(tmp_path, capsys, name, content, expected):
    ann, pred, out = tmp_path / name, tmp_path / 'pred.json', tmp_path / 'res.json'
    ann.write_text(json.dumps(content))
    pred.write_text(json.dumps(PRED))
    assert evaluate.main([str(pred), '--ann', str(ann), '--subset', 'validation',
                          '--out', str(out)]) == 0
    assert json.loads(out.read_text())['tiou_thresholds'] == pytest.approx(expected)
    assert 'tIoU thresholds' in capsys.readouterr().out


def test_help_states_the_defaults(capsys):
    assert evaluate.main(['--help']) == 0
    text = ' '.join(capsys.readouterr().out.split())
    assert 'ActivityNet 0.5 0.55 ... 0.95' in text and 'THUMOS14' in text
    assert '0.3 0.4 0.5 0.6 0.7' in text


def test_ground_truth_counted_like_the_configs(tmp_path):
    """3311 THUMOS14 test instances as given; 3307 with the durations (4 past the video's
    end), which is what the configs and diagnose_detections.py --video-info count."""
    from tadet.evaluation.analysis import load_reference
    pred = tmp_path / 'pred.json'
    pred.write_text(json.dumps(dict(version='x', external_data={}, results={})))
    ann = osp.join(ANN_DIR, 'thumos_gt.json')
    info = osp.join(ANN_DIR, 'test_video_info.csv')
    counts = {}
    for key, extra in (('plain', []), ('info', ['--video-info', info])):
        out = tmp_path / f'{key}.json'
        assert evaluate.main([str(pred), '--ann', ann, '--subset', 'test', '--out', str(out),
                              *extra]) == 0
        counts[key] = json.loads(out.read_text())['num_ground_truth']
    with pytest.warns(UserWarning, match='clipped'):
        gt, _, _ = load_reference(ann_file=ann, subset='test', video_info=info)
    assert counts == {'plain': 3311, 'info': 3307}
    assert sum(len(v) for v in gt.values()) == 3307
