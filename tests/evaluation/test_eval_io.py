"""Prediction/ground-truth reading, validation messages, result formatting."""
import json
import os

import numpy as np
import pytest
import torch

from tadet.evaluation.functional import (PredictionFormatError, format_results,
                                         load_ground_truth, load_predictions, write_json_atomic)

ANN = {'database': {
    'v1': {'subset': 'test', 'annotations': [{'segment': ['1.5', '4.0'], 'label': 'A'},
                                             {'segment': [6, 9], 'label': 'B'}]},
    'v2': {'subset': 'test', 'annotations': []},
    'v3': {'subset': 'train', 'annotations': [{'segment': [0, 1], 'label': 'A'}]}}}


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_load_ground_truth(tmp_path):
    ann = _write(tmp_path, 'ann.json', ANN)
    gt = load_ground_truth(ann, 'test')
    assert gt == {'v1': [{'segment': [1.5, 4.0], 'label': 'A'},
                         {'segment': [6.0, 9.0], 'label': 'B'}], 'v2': []}
    assert set(load_ground_truth(ann)) == {'v1', 'v2', 'v3'}


def test_load_predictions_ok(tmp_path):
    res = {'version': 'x', 'results': {'v1': [{'segment': [1, 2], 'label': 'A', 'score': 0.5}]},
           'external_data': {}}
    assert load_predictions(_write(tmp_path, 'p.json', res)) == res['results']


@pytest.mark.parametrize('content, pattern', [
    ('{"results": {', 'not valid JSON'),
    ({'version': 'x'}, 'missing "results"'),
    ([1, 2], 'missing "results"'),
    ({'results': [1]}, '"results" must map'),
    ({'results': {'v1': {'segment': [1, 2]}}}, "video 'v1': expected a list"),
    ({'results': {'v1': [{'label': 'A', 'score': 1}]}}, "video 'v1', entry 0: missing field "
                                                        '"segment"'),
    ({'results': {'v1': [{'segment': [1, 2], 'score': 1}]}}, 'missing field "label"'),
    ({'results': {'v1': [{'segment': [1, 2], 'label': 'A'}]}}, 'missing field "score"'),
    ({'results': {'v1': [{'segment': [1, 2], 'label': 'A', 'score': 1},
                         {'segment': [1, 2], 'label': 'A', 'score': 'high'}]}},
     "video 'v1', entry 1: field 'score' must be a number, got 'high'"),
    ({'results': {'v1': [{'segment': [1, 2], 'label': 'A', 'score': None}]}}, "'score'"),
    ({'results': {'v1': [{'segment': [1, 2], 'label': 'A', 'score': True}]}}, "'score'"),
    ({'results': {'v1': [{'segment': [1, 'b'], 'label': 'A', 'score': 1}]}}, "'segment'"),
    ({'results': {'v1': [{'segment': [1, 2, 3], 'label': 'A', 'score': 1}]}}, '"segment" must be'),
    ({'results': {'v1': [{'segment': 5, 'label': 'A', 'score': 1}]}}, '"segment" must be'),
    ({'results': {'v1': [{'segment': [3, 2], 'label': 'A', 'score': 1}]}}, 'end < start'),
    ({'results': {'v1': [{'segment': [1, 2], 'label': 3, 'score': 1}]}}, '"label" must be'),
    ('{"results": {"v1": [{"segment": [1, NaN], "label": "A", "score": 1}]}}', 'not finite'),
])
def test_load_predictions_errors_name_file_video_field(tmp_path, content, pattern):
    path = _write(tmp_path, 'bad.json', content)
    with pytest.raises(PredictionFormatError) as info:
        load_predictions(path)
    msg = str(info.value)
    assert path in msg
    assert pattern in msg


def test_load_predictions_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_predictions(str(tmp_path / 'nope.json'))


def test_numeric_strings_are_accepted(tmp_path):
    res = {'results': {'v': [{'segment': ['1.0', '2'], 'label': 'A', 'score': '0.5'}]}}
    load_predictions(_write(tmp_path, 'p.json', res))


def test_format_results_tensors_and_indices():
    preds = {'v1': dict(segments=torch.tensor([[1.0, 2.0], [0.5, 3.0]]),
                        scores=torch.tensor([0.2, 0.9]), labels=torch.tensor([1, 0])),
             'v2': dict(segments=np.zeros((0, 2)), scores=np.zeros(0),
                        labels=np.zeros(0, dtype=np.int64))}
    out = format_results(preds, ['A', 'B'])
    assert set(out) == {'version', 'results', 'external_data'}
    assert out['external_data'] == {}
    assert out['results']['v2'] == []
    v1 = out['results']['v1']
    assert [e['label'] for e in v1] == ['A', 'B']  # sorted by score
    assert v1[0]['segment'] == [0.5, 3.0] and v1[0]['score'] == pytest.approx(0.9)
    json.dumps(out)  # plain python types
    with pytest.raises(ValueError, match='out of range'):
        format_results({'v': dict(segments=[[0, 1]], scores=[1.0], labels=[5])}, ['A'])


def test_write_json_atomic(tmp_path):
    path = str(tmp_path / 'sub' / 'r.json')
    write_json_atomic({'a': 1}, path)
    assert json.load(open(path)) == {'a': 1}
    with pytest.raises(TypeError):
        write_json_atomic({'a': object()}, path)
    assert json.load(open(path)) == {'a': 1}  # old content intact, no temp file left
    assert os.listdir(tmp_path / 'sub') == ['r.json']
