"""TADMetric: process / compute_metrics, DDP duplicates, output files, AR@AN mode."""
import json

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from tadet.evaluation import TADMetric, detection_map, load_predictions
from tadet.registry import METRICS
from tadet.structures import TADDataSample

CLASSES = ['A', 'B', 'C']


def make_sample(name, pred_segs, pred_scores, pred_labels, gt_segs, gt_labels):
    s = TADDataSample(metainfo=dict(video_name=name, duration=100.0))
    s.pred_instances = InstanceData(
        segments=torch.tensor(pred_segs, dtype=torch.float32).view(-1, 2),
        scores=torch.tensor(pred_scores, dtype=torch.float32),
        labels=torch.tensor(pred_labels, dtype=torch.long))
    s.gt_seconds = InstanceData(segments=torch.tensor(gt_segs, dtype=torch.float32).view(-1, 2),
                                labels=torch.tensor(gt_labels, dtype=torch.long))
    return s


def samples():
    return [
        make_sample('v1', [[0, 10], [0, 10], [20, 30]], [0.9, 0.8, 0.7], [0, 0, 0],
                    [[0, 10], [20, 30]], [0, 0]),  # A: AP 5/6 at all thresholds
        make_sample('v2', [[0, 6], [50, 60]], [0.9, 0.5], [1, 2], [[0, 10]], [1]),  # B: tIoU .6
        make_sample('v3', [], [], [], [], []),
    ]


def expected_gt_preds():
    gt = {'v1': [dict(segment=[0, 10], label='A'), dict(segment=[20, 30], label='A')],
          'v2': [dict(segment=[0, 10], label='B')], 'v3': []}
    preds = {'v1': [dict(segment=[0, 10], label='A', score=0.9),
                    dict(segment=[0, 10], label='A', score=0.8),
                    dict(segment=[20, 30], label='A', score=0.7)],
             'v2': [dict(segment=[0, 6], label='B', score=0.9),
                    dict(segment=[50, 60], label='C', score=0.5)]}
    return gt, preds


def make_metric(**kwargs):
    metric = TADMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def test_registered_and_unknown_kwargs_rejected():
    m = METRICS.build(dict(type='TADMetric', tiou_thresholds=[0.5]))
    assert isinstance(m, TADMetric) and m.prefix == 'tad'
    with pytest.raises(TypeError):
        TADMetric(tiou_thresold=[0.5])
    with pytest.raises(ValueError):
        TADMetric(metric='mAP@0.5')
    with pytest.raises(ValueError):
        TADMetric(subset='test')


def test_process_and_compute(capsys):
    MMLogger.get_instance('tadet_eval_test')
    metric = make_metric()
    metric.process({}, [s.to_dict() for s in samples()])
    assert len(metric.results) == 3
    r0 = metric.results[0]
    assert isinstance(r0['segments'], np.ndarray) and r0['segments'].dtype == np.float64
    out = metric.compute_metrics(metric.results)
    assert list(out) == ['mAP@0.30', 'mAP@0.40', 'mAP@0.50', 'mAP@0.60', 'mAP@0.70',
                         'average_mAP']
    gt, preds = expected_gt_preds()
    ref = detection_map(gt, preds, classes=CLASSES)
    assert [out[k] for k in list(out)[:5]] == ref['mAP']
    # A = 5/6 at every threshold; B = 1 up to 0.6, then 0
    assert out['mAP@0.50'] == pytest.approx((5 / 6 + 1) / 2)
    assert out['mAP@0.70'] == pytest.approx((5 / 6 + 0) / 2)
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in out.values())
    printed = capsys.readouterr().out
    assert 'Detection mAP (%)' in printed and '91.67' in printed


def test_ddp_duplicates_keep_first():
    metric = make_metric(tiou_thresholds=[0.5])
    good = samples()
    # a padding sampler repeats v1 at the end; give the copy different (bad) predictions so
    # using it would change the result
    dup = make_sample('v1', [[50, 60]], [1.0], [0], [[0, 10], [20, 30]], [0, 0])
    metric.process({}, [s.to_dict() for s in good + [dup]])
    out = metric.compute_metrics(metric.results)
    assert out['mAP@0.50'] == pytest.approx((5 / 6 + 1) / 2)
    assert [r['video_name'] for r in TADMetric.unique_videos(metric.results)] == ['v1', 'v2', 'v3']


def test_evaluator_prefix_and_data_elements():
    metric = make_metric(tiou_thresholds=[0.5, 0.7])
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=CLASSES)
    evaluator.process(data_samples=samples(), data_batch={})
    out = evaluator.evaluate(3)
    assert set(out) == {'tad/mAP@0.50', 'tad/mAP@0.70', 'tad/average_mAP'}


def test_out_file_out_result_and_plot(tmp_path):
    out_file = tmp_path / 'preds' / 'results.json'
    out_result = tmp_path / 'metrics.json'
    metric = make_metric(out_file=str(out_file), out_result=str(out_result),
                         plot_dir=str(tmp_path / 'plots'))
    metric.process({}, [s.to_dict() for s in samples()])
    out = metric.compute_metrics(metric.results)
    data = json.load(open(out_file))
    assert set(data) == {'version', 'results', 'external_data'}
    assert set(data['results']) == {'v1', 'v2', 'v3'}
    assert data['results']['v2'][1] == dict(segment=[50.0, 60.0], label='C', score=0.5)
    results = load_predictions(str(out_file))  # valid by our own reader
    gt, _ = expected_gt_preds()
    assert detection_map(gt, results, classes=CLASSES)['average_mAP'] == out['average_mAP']
    saved = json.load(open(out_result))
    assert saved['average_mAP'] == out['average_mAP'] and saved['metrics'] == out
    assert (tmp_path / 'plots' / 'per_class_AP.png').stat().st_size > 0
    assert not [p for p in (tmp_path / 'preds').iterdir() if p.name != 'results.json']


def test_ground_truth_from_ann_file(tmp_path):
    ann = {'database': {
        'v1': {'subset': 'test', 'annotations': [{'segment': [0, 10], 'label': 'A'},
                                                 {'segment': [20, 30], 'label': 'A'}]},
        'v2': {'subset': 'test', 'annotations': [{'segment': [0, 10], 'label': 'B'}]},
        'v4': {'subset': 'test', 'annotations': [{'segment': [0, 10], 'label': 'B'}]},
        'v9': {'subset': 'train', 'annotations': [{'segment': [0, 10], 'label': 'C'}]}}}
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(ann))
    metric = make_metric(tiou_thresholds=[0.5], ann_file=str(path), subset='test')
    data = [s.to_dict() for s in samples()[:2]]
    for d in data:
        d.pop('gt_seconds')  # not needed with ann_file
    metric.process({}, data)
    out = metric.compute_metrics(metric.results)
    # v4's B instance is never predicted -> B: precision 1 at recall 1/2 -> AP 0.5
    assert out['mAP@0.50'] == pytest.approx((5 / 6 + 0.5) / 2)


def test_missing_fields_are_clear_errors():
    metric = make_metric()
    with pytest.raises(KeyError, match='video_name'):
        metric.process({}, [{'pred_instances': {}}])
    with pytest.raises(KeyError, match='gt_seconds'):
        s = samples()[0].to_dict()
        s.pop('gt_seconds')
        metric.process({}, [s])
    metric = make_metric()
    bad = make_sample('v', [[0, 1]], [1.0], [7], [], [])
    metric.process({}, [bad.to_dict()])
    with pytest.raises(ValueError, match='out of range'):
        metric.compute_metrics(metric.results)


def test_ar_at_an_mode():
    metric = make_metric(metric='AR@AN', tiou_thresholds=[0.5])
    metric.process({}, [s.to_dict() for s in samples()])
    out = metric.compute_metrics(metric.results)
    assert list(out) == ['AR@1', 'AR@5', 'AR@10', 'AR@100', 'AUC']
    # 3 gt instances, every one has an exact or >= 0.5 proposal among few -> AR@100 = 1
    assert out['AR@100'] == 1.0
    assert all(0 <= v <= 1 for v in out.values())
