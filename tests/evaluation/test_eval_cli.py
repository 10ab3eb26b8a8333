"""tools/evaluate.py: in-process on good and bad input, plus one real subprocess call."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'evaluate.py')
THUMOS_ANN = osp.join(ROOT, 'data', 'thumos14', 'annotations', 'thumos_gt.json')
THUMOS_CLASSES = osp.join(ROOT, 'data', 'thumos14', 'annotations', 'Class_Index_Detection.txt')


def _load_tool():
    spec = importlib.util.spec_from_file_location('tadet_tools_evaluate', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


evaluate = _load_tool()

ANN = {'database': {
    'v1': {'subset': 'test', 'annotations': [{'segment': [0, 10], 'label': 'A'},
                                             {'segment': [20, 30], 'label': 'A'}]},
    'v2': {'subset': 'test', 'annotations': [{'segment': [0, 10], 'label': 'B'}]},
    'v9': {'subset': 'train', 'annotations': [{'segment': [0, 10], 'label': 'B'}]}}}

GOOD = {'version': 'x', 'external_data': {}, 'results': {
    'v1': [{'segment': [0, 10], 'label': 'A', 'score': 0.9},
           {'segment': [0, 10], 'label': 'A', 'score': 0.8},
           {'segment': [20, 30], 'label': 'A', 'score': 0.7}],
    'v2': [{'segment': [0, 6], 'label': 'B', 'score': 0.9}]}}


@pytest.fixture
def files(tmp_path):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(ANN))

    def write(content, name='pred.json'):
        p = tmp_path / name
        p.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(p)

    return str(ann), write, tmp_path


def test_good_input_writes_result(files, capsys):
    ann, write, tmp = files
    out = tmp / 'res' / 'result.json'
    rc = evaluate.main([write(GOOD), '--ann', ann, '--subset', 'test', '--tiou-thresholds',
                        '0.5', '0.7', '--out', str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert '0.50' in printed and '0.70' in printed and 'Average' in printed
    res = json.load(open(out))
    assert {'tiou_thresholds', 'mAP', 'average_mAP', 'per_class_AP'} <= set(res)
    assert res['tiou_thresholds'] == [0.5, 0.7]
    assert res['mAP'] == [pytest.approx((5 / 6 + 1) / 2), pytest.approx(5 / 12)]
    assert res['average_mAP'] == pytest.approx(sum(res['mAP']) / 2)
    assert res['per_class_AP']['B'] == [1.0, 0.0]


@pytest.mark.parametrize('content, message', [
    ('{"results": {"v1": [', 'not valid JSON'),
    ({'version': 'x'}, 'missing "results"'),
    ({'results': {'v1': [{'segment': [0, 10], 'score': 0.5}]}}, 'missing field "label"'),
    ({'results': {'v1': [{'segment': [0, 10], 'label': 'A'}]}}, 'missing field "score"'),
    ({'results': {'v1': [{'segment': [0, 10], 'label': 'A', 'score': 'high'}]}},
     "field 'score' must be a number"),
    ({'results': {'v1': [{'segment': [0, 10], 'label': 'Zebra', 'score': 0.5}]}},
     "unknown to the ground truth"),
])
def test_bad_input_exit_2_no_output(files, capsys, content, message):
    ann, write, tmp = files
    out = tmp / 'result.json'
    pred = write(content)
    rc = evaluate.main([pred, '--ann', ann, '--subset', 'test', '--out', str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err
    assert 'Traceback' not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_unknown_labels_ignore(files, capsys):
    ann, write, tmp = files
    bad = json.loads(json.dumps(GOOD))
    bad['results']['v1'].append({'segment': [0, 10], 'label': 'Zebra', 'score': 0.99})
    rc = evaluate.main([write(bad), '--ann', ann, '--subset', 'test', '--unknown-labels',
                        'ignore', '--out', str(tmp / 'r.json')])
    assert rc == 0
    assert 'Zebra' in capsys.readouterr().err
    assert json.load(open(tmp / 'r.json'))['ignored_labels'] == ['Zebra']


def test_empty_results_give_zero(files):
    ann, write, tmp = files
    rc = evaluate.main([write({'version': 'x', 'results': {}, 'external_data': {}}), '--ann',
                        ann, '--subset', 'test', '--out', str(tmp / 'r.json')])
    assert rc == 0
    res = json.load(open(tmp / 'r.json'))
    assert res['mAP'] == [0.0] * 5 and res['average_mAP'] == 0.0


def test_bad_ann_subset_and_arguments(files, capsys):
    ann, write, tmp = files
    pred = write(GOOD)
    assert evaluate.main([pred, '--ann', str(tmp / 'missing.json'), '--subset', 'test']) == 2
    assert evaluate.main([pred, '--ann', ann, '--subset', 'validation']) == 2
    assert evaluate.main([pred, '--ann', ann, '--subset', 'test',
                          '--tiou-thresholds', '1.5']) == 2
    assert evaluate.main([str(tmp / 'none.json'), '--ann', ann, '--subset', 'test']) == 2
    assert evaluate.main([pred, '--ann', ann]) == 2  # argparse: --subset required
    err = capsys.readouterr().err
    assert 'Traceback' not in err


def test_subprocess_on_real_thumos_annotations(tmp_path):
    """Perfect predictions on THUMOS14 test (class names from the class map) -> mAP 100 %."""
    with open(THUMOS_ANN) as f:
        database = json.load(f)['database']
    results = {v: [{'segment': [float(x) for x in a['segment']], 'label': a['label'],
                    'score': 1.0} for a in info['annotations']]
               for v, info in database.items() if info['subset'] == 'test'}
    pred = tmp_path / 'pred.json'
    pred.write_text(json.dumps({'version': 'x', 'results': results, 'external_data': {}}))
    out = tmp_path / 'r.json'
    proc = subprocess.run(
        [sys.executable, SCRIPT, str(pred), '--ann', THUMOS_ANN, '--subset', 'test',
         '--classes', THUMOS_CLASSES, '--out', str(out)],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '100.00' in proc.stdout
    res = json.load(open(out))
    assert res['average_mAP'] == 1.0 and len(res['per_class_AP']) == 20
