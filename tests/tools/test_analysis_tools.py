"""Detection analysis: FP profile and sensitivity on hand-made predictions, the analysis
tools' PNG / JSON outputs."""
import json
import os.path as osp
import sys

import pytest

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import diagnose_detections  # noqa: E402
import plot_timeline  # noqa: E402


def seg(s, e, label, score=None):
    d = dict(segment=[float(s), float(e)], label=label)
    if score is not None:
        d['score'] = score
    return d


# G = 3 ground-truth instances
GT = {'v1': [seg(10, 20, 'A'), seg(30, 40, 'B')], 'v2': [seg(5, 15, 'A')]}
PREDS = {
    'v1': [seg(10, 20, 'A', 0.9),    # true positive
           seg(11, 20, 'A', 0.8),    # double detection (tIoU 0.9 with the matched A)
           seg(10, 20, 'B', 0.7),    # wrong label (tIoU 1 with A)
           seg(30, 33, 'B', 0.6),    # localization (tIoU 0.3 with B)
           seg(60, 70, 'A', 0.2),    # background
           seg(31, 40, 'B', 0.1)],   # true positive (tIoU 0.9)
    'v2': [seg(5, 9, 'B', 0.5),      # confusion (tIoU 0.4 with A, no B)
           seg(50, 60, 'A', 0.4),    # background
           seg(5, 15, 'A', 0.3)],    # true positive
    'v3': [seg(0, 1, 'A', 0.95)],    # not in the ground truth: ignored
}


def test_classify_predictions_hand_made():
    from tadet.evaluation.analysis import classify_predictions
    cats = [(c['score'], c['category']) for c in classify_predictions(GT, PREDS, 0.5)]
    assert cats == [(0.9, 'true_positive'), (0.8, 'double_detection'), (0.7, 'wrong_label'),
                    (0.6, 'localization'), (0.5, 'confusion'), (0.4, 'background'),
                    (0.3, 'true_positive'), (0.2, 'background'), (0.1, 'true_positive')]
    # at a looser threshold the 0.3-tIoU prediction becomes a true positive, the 0.4-tIoU one
    # a wrong label
    loose = {c['score']: c['category'] for c in classify_predictions(GT, PREDS, 0.3)}
    assert loose[0.6] == 'true_positive' and loose[0.5] == 'wrong_label'


def test_false_positive_profile_counts():
    from tadet.evaluation.analysis import false_positive_profile
    prof = false_positive_profile(GT, PREDS, 0.5, top_k=3)
    assert prof['categories'] == ['true_positive', 'double_detection', 'wrong_label',
                                  'localization', 'confusion', 'background']
    assert prof['num_ground_truth'] == 3 and prof['num_predictions'] == 9
    assert prof['counts'] == [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [3, 1, 1, 1, 1, 2]]
    assert prof['error_breakdown'] == pytest.approx(dict(
        double_detection=1 / 6, wrong_label=1 / 6, localization=1 / 6, confusion=1 / 6,
        background=2 / 6))
    with pytest.raises(ValueError, match='min_tiou'):
        false_positive_profile(GT, PREDS, tiou_thr=0.05)


def test_sensitivity_buckets_hand_made():
    from tadet.evaluation.analysis import sensitivity_analysis
    gt = {'v1': [seg(0, 2, 'A'), seg(10, 20, 'A')]}  # lengths 2 s (XS), 10 s (M)
    preds = {'v1': [seg(0, 2, 'A', 0.9),     # TP of the XS instance
                    seg(10, 14, 'A', 0.8),   # tIoU 0.4 with the M instance: its FP
                    seg(50, 60, 'A', 0.7)]}  # overlaps nothing: FP in every bucket
    res = sensitivity_analysis(gt, preds, {'v1': 100.0}, tiou_thr=0.5)
    assert res['overall'] == pytest.approx(0.5)
    length = {r['bucket']: (r['num_ground_truth'], r['mAP']) for r in res['length']}
    assert length['XS'] == (1, pytest.approx(1.0)) and length['M'] == (1, pytest.approx(0.0))
    assert length['S'] == (0, None) and length['XL'] == (0, None)
    cov = {r['bucket']: (r['num_ground_truth'], r['mAP']) for r in res['coverage']}
    assert cov['XS'] == (1, pytest.approx(1.0)) and cov['XL'] == (1, pytest.approx(0.0))
    assert sensitivity_analysis(gt, preds, None)['coverage'] is None


def write_inputs(tmp_path):
    ann = dict(database={v: dict(subset='test', duration=100.0, annotations=g)
                         for v, g in GT.items()})
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    (tmp_path / 'preds.json').write_text(json.dumps(dict(version='1', results=PREDS,
                                                         external_data={})))
    return str(tmp_path / 'ann.json'), str(tmp_path / 'preds.json')


def test_diagnose_tool_writes_pngs_and_counts(tmp_path, capsys):
    ann, preds = write_inputs(tmp_path)
    out = tmp_path / 'diag'
    assert diagnose_detections.main([preds, '--ann', ann, '--subset', 'test', '--top-k', '3',
                                     '--out-dir', str(out)]) == 0
    for name in ('fp_profile.png', 'sensitivity.png', 'per_class_AP.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n', name
        assert (out / name).stat().st_size > 10000, name  # a drawn figure, not a blank
    res = json.load(open(out / 'diagnosis.json'))
    assert res['fp_profile']['counts'][-1] == [3, 1, 1, 1, 1, 2]
    assert res['sensitivity']['coverage'] is not None
    text = capsys.readouterr().out
    assert 'false-positive profile' in text and 'double detection' in text
    assert 'sensitivity' in text


def test_timeline_tool(tmp_path, capsys):
    from tadet.apis import run_cli
    ann, preds = write_inputs(tmp_path)
    out = tmp_path / 'tl.png'
    assert plot_timeline.main([preds, '--ann', ann, '--video', 'v1', '--top', '4',
                               '--out', str(out)]) == 0
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and out.stat().st_size > 10000
    # default video: the one with most ground truth, next to the predictions
    assert plot_timeline.main([preds, '--ann', ann]) == 0
    assert (tmp_path / 'timeline_v1.png').is_file()
    capsys.readouterr()
    assert run_cli(plot_timeline.main, [preds, '--ann', ann, '--video', 'nope']) == 2
    err = capsys.readouterr().err
    assert 'nope' in err and 'Traceback' not in err


def test_reference_from_config(tmp_path, tiny_data, custom_module_dir):
    """--config reads the test set of a config (same ground truth as tools/test.py)."""
    from tadet.evaluation.analysis import load_reference
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(tiny_config_text(tiny_data))
    gt, durations, classes = load_reference(config=str(cfg))
    assert set(gt) == {'test_video_0', 'test_video_1'} and classes == ['jump', 'run']
    ann = json.load(open(tiny_data['ann_file']))['database']
    assert durations['test_video_0'] == pytest.approx(ann['test_video_0']['duration'])
    assert len(gt['test_video_0']) == len(ann['test_video_0']['annotations'])
