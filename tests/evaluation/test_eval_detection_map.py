"""Detection mAP: hand-computed cases, edge cases, and exact equality with the loop reference."""
import numpy as np
import pytest

from tadet.datasets.annotations import AnnotationError
from tadet.evaluation.functional import (UnknownLabelError, detection_map, interpolated_ap,
                                         reference_detection_map, segment_tiou)
from tadet.evaluation.functional.reference import reference_interpolated_prec_rec


def P(s, e, label, score):
    return dict(segment=[s, e], label=label, score=score)


def G(s, e, label):
    return dict(segment=[s, e], label=label)


# ----------------------------------------------------------------------------- tIoU
def test_segment_tiou_values():
    pred = np.array([[0, 10], [5, 15], [20, 30], [3, 3]], dtype=float)
    gt = np.array([[0, 10], [10, 20]], dtype=float)
    iou = segment_tiou(pred, gt)
    assert iou.shape == (4, 2)
    np.testing.assert_allclose(iou[0], [1.0, 0.0])
    np.testing.assert_allclose(iou[1], [5 / 15, 5 / 15])
    np.testing.assert_allclose(iou[2], [0.0, 0.0])
    np.testing.assert_allclose(iou[3], [0.0, 0.0])  # zero length inside: 0 / 10


def test_segment_tiou_zero_union_is_zero_not_nan():
    iou = segment_tiou([[2, 2]], [[2, 2], [1, 3]])
    assert np.isfinite(iou).all()
    np.testing.assert_array_equal(iou, [[0.0, 0.0]])
    assert segment_tiou(np.zeros((0, 2)), [[0, 1]]).shape == (0, 1)


# ----------------------------------------------------------------------------- hand-made AP
def test_hand_made_duplicate_detection_is_false_positive():
    gt = {'v': [G(0, 10, 'A'), G(20, 30, 'A')]}
    preds = {'v': [P(0, 10, 'A', 0.9), P(0, 10, 'A', 0.8), P(20, 30, 'A', 0.7)]}
    # tp = [1, 0, 1]; precision [1, 1/2, 2/3]; recall [1/2, 1/2, 1]
    # envelope at the recall steps: 1 (to 0.5) and 2/3 (to 1.0)
    expected = 0.5 * 1.0 + 0.5 * (2 / 3)
    res = detection_map(gt, preds, [0.5])
    assert res['mAP'][0] == pytest.approx(expected)
    assert res['average_mAP'] == pytest.approx(expected)
    assert res['per_class_AP'] == {'A': [pytest.approx(expected)]}
    assert res['num_predictions'] == 3
    assert res['tiou_thresholds'] == [0.5]


def test_hand_made_threshold_dependence_and_average():
    gt = {'v': [G(0, 10, 'A')]}
    preds = {'v': [P(0, 6, 'A', 1.0)]}  # tIoU 0.6
    res = detection_map(gt, preds, [0.5, 0.6, 0.7])
    assert res['mAP'] == [1.0, 1.0, 0.0]  # 0.6 >= 0.6 counts
    assert res['average_mAP'] == pytest.approx(2 / 3)


def test_hand_made_low_score_true_positive_after_false_positive():
    gt = {'v': [G(0, 10, 'A')]}
    preds = {'v': [P(50, 60, 'A', 0.9), P(0, 10, 'A', 0.5)]}
    # precision [0, 1/2], recall [0, 1] -> AP = 1 * 1/2
    assert detection_map(gt, preds, [0.5])['mAP'] == [0.5]


def test_mean_over_classes_present_in_ground_truth():
    gt = {'v1': [G(0, 10, 'A')], 'v2': [G(0, 10, 'B'), G(20, 30, 'B')]}
    preds = {'v1': [P(0, 10, 'A', 0.9)],  # A: AP 1
             'v2': [P(0, 10, 'B', 0.9), P(20, 30, 'C', 0.8)]}  # B: AP 0.5; C has no gt
    res = detection_map(gt, preds, [0.5], classes=['A', 'B', 'C'])
    assert res['per_class_AP'] == {'A': [1.0], 'B': [0.5]}
    assert res['mAP'] == [pytest.approx(0.75)]
    # a class with ground truth but no prediction counts as AP 0
    res = detection_map(gt, {'v1': [P(0, 10, 'A', 0.9)]}, [0.5])
    assert res['per_class_AP'] == {'A': [1.0], 'B': [0.0]}
    assert res['mAP'] == [0.5]


def test_prediction_in_video_without_gt_of_class_is_false_positive():
    gt = {'v1': [G(0, 10, 'A')], 'v2': [], 'v3': [G(0, 10, 'B')]}
    preds = {'v2': [P(0, 10, 'A', 0.9)], 'v3': [P(0, 10, 'A', 0.8)],
             'v1': [P(0, 10, 'A', 0.5)]}
    # A: FP, FP, TP -> precision at the recall step 1/3 -> AP 1/3
    res = detection_map(gt, preds, [0.5])
    assert res['per_class_AP']['A'] == [pytest.approx(1 / 3)]
    assert res['per_class_AP']['B'] == [0.0]


def test_score_ties_keep_input_order():
    gt = {'v': [G(0, 10, 'A')]}
    fp_first = {'v': [P(50, 60, 'A', 0.5), P(0, 10, 'A', 0.5)]}
    tp_first = {'v': [P(0, 10, 'A', 0.5), P(50, 60, 'A', 0.5)]}
    assert detection_map(gt, fp_first, [0.5])['mAP'] == [0.5]
    assert detection_map(gt, tp_first, [0.5])['mAP'] == [1.0]
    # across videos: mapping order, then list order
    gt2 = {'a': [G(0, 10, 'A')], 'b': [G(0, 10, 'A')]}
    preds = {'b': [P(50, 60, 'A', 0.5)], 'a': [P(0, 10, 'A', 0.5)]}
    assert detection_map(gt2, preds, [0.5])['mAP'] == [pytest.approx(0.25)]


def test_tiou_ties_follow_argsort_reversed():
    # pred [5, 15] overlaps both gts with tIoU 1/3; argsort()[::-1] visits gt index 1 first,
    # so the second prediction (exactly gt 1) finds gt 1 taken -> FP at 0.3.
    gt = {'v': [G(0, 10, 'A'), G(10, 20, 'A')]}
    preds = {'v': [P(5, 15, 'A', 0.9), P(10, 20, 'A', 0.8)]}
    res = detection_map(gt, preds, [0.3])
    # tp = [1, 0]: precision [1, 1/2], recall [1/2, 1/2] -> AP 1/2
    assert res['mAP'] == [0.5]
    assert reference_detection_map(gt, preds, [0.3]) == res


def test_duplicate_ground_truth_removed():
    gt = {'v': [G(0, 10, 'A'), G(0, 10, 'A'), G(0, 10.0, 'A')]}
    res = detection_map(gt, {'v': [P(0, 10, 'A', 1.0)]}, [0.5])
    assert res['mAP'] == [1.0]  # with the duplicates recall could not exceed 1/3
    assert res['num_ground_truth'] == 1
    assert res['num_duplicate_ground_truth'] == 2
    # same segment, different label: not a duplicate
    gt = {'v': [G(0, 10, 'A'), G(0, 10, 'B')]}
    assert detection_map(gt, {}, [0.5])['num_ground_truth'] == 2


def test_unknown_labels_error_lists_them():
    gt = {'v': [G(0, 10, 'A')]}
    preds = {'v': [P(0, 10, 'A', 1.0), P(0, 10, 'Zebra', 0.9), P(0, 10, 'Yak', 0.8)]}
    with pytest.raises(UnknownLabelError, match=r"Yak.*Zebra"):
        detection_map(gt, preds)
    with pytest.warns(UserWarning, match='unknown'):
        res = detection_map(gt, preds, [0.5], unknown_labels='ignore')
    assert res['ignored_labels'] == ['Yak', 'Zebra']
    assert res['num_ignored_label_predictions'] == 2
    assert res['mAP'] == [1.0]
    assert res['num_predictions'] == 1
    with pytest.raises(ValueError, match='unknown_labels'):
        detection_map(gt, preds, unknown_labels='map')


def test_label_in_class_list_but_not_in_gt_is_not_unknown():
    gt = {'v': [G(0, 10, 'A')]}
    res = detection_map(gt, {'v': [P(0, 10, 'B', 1.0)]}, [0.5], classes=['A', 'B'])
    assert res['ignored_labels'] == [] and res['mAP'] == [0.0]
    with pytest.raises(AnnotationError, match='missing from the class list'):
        detection_map(gt, {}, classes=['B'])


def test_empty_predictions():
    gt = {'v': [G(0, 10, 'A')], 'w': [G(3, 4, 'B')]}
    for preds in ({}, {'v': []}, {'v': [], 'w': []}):
        res = detection_map(gt, preds)
        assert res['mAP'] == [0.0] * 5
        assert res['average_mAP'] == 0.0
        assert res['num_predictions'] == 0
        assert reference_detection_map(gt, preds) == res


def test_empty_ground_truth_gives_zero():
    res = detection_map({'v': []}, {'v': [P(0, 1, 'A', 1.0)]}, classes=['A'])
    assert res['mAP'] == [0.0] * 5 and res['per_class_AP'] == {}


def test_videos_absent_from_ground_truth_are_ignored_with_warning():
    gt = {'v': [G(0, 10, 'A')]}
    preds = {'v': [P(0, 10, 'A', 0.5)], 'ghost': [P(0, 10, 'A', 0.9), P(1, 2, 'A', 0.9)]}
    with pytest.warns(UserWarning, match=r'2 prediction\(s\) in 1 video'):
        res = detection_map(gt, preds, [0.5])
    assert res['mAP'] == [1.0]
    assert res['ignored_videos'] == ['ghost']
    assert res['num_ignored_video_predictions'] == 2


def test_invalid_thresholds():
    with pytest.raises(ValueError):
        detection_map({'v': []}, {}, [1.5])
    with pytest.raises(ValueError):
        detection_map({'v': []}, {}, [])


def test_interpolated_ap_matches_reference_formula():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(0, 30))
        tp = rng.random((4, n)) < 0.5
        tp_cum = np.cumsum(tp, axis=1).astype(float)
        prec = tp_cum / np.arange(1, n + 1)
        rec = tp_cum / max(n, 1)
        fast = interpolated_ap(prec, rec)
        for t in range(4):
            assert fast[t] == reference_interpolated_prec_rec(prec[t], rec[t])


# ----------------------------------------------------------------------------- vs reference
def _random_case(rng, grid: bool):
    num_videos = int(rng.integers(1, 6))
    num_classes = int(rng.integers(1, 4))
    classes = [f'c{i}' for i in range(num_classes)]
    gt, preds = {}, {}
    max_gt = int(rng.choice([3, 12, 40]))
    for v in range(num_videos):
        anns = []
        for _ in range(int(rng.integers(0, max_gt))):
            if grid:  # integer grid: many tIoU ties and duplicate gts
                s = int(rng.integers(0, 25))
                e = s + int(rng.integers(1, 7))
            else:
                s = float(rng.uniform(0, 100))
                e = s + float(rng.uniform(0.1, 20))
            anns.append(G(s, e, classes[rng.integers(num_classes)]))
        gt[f'v{v}'] = anns
        out = []
        for _ in range(int(rng.integers(0, 80))):
            if grid:
                s = int(rng.integers(0, 25))
                e = s + int(rng.integers(0, 7))
                score = float(rng.integers(0, 4))  # score ties
            else:
                s = float(rng.uniform(0, 100))
                e = s + float(rng.uniform(0.0, 20))
                score = float(rng.random())
            out.append(P(s, e, classes[rng.integers(num_classes)], score))
        preds[f'v{v}'] = out
    return gt, preds, classes


@pytest.mark.parametrize('grid', [True, False])
def test_exactly_equal_to_loop_reference(grid):
    rng = np.random.default_rng(1234 + grid)
    thresholds = [(0.3, 0.4, 0.5, 0.6, 0.7), tuple(np.linspace(0.5, 0.95, 10)), (0.0, 0.1, 1.0)]
    for case in range(120):
        gt, preds, classes = _random_case(rng, grid)
        thr = thresholds[case % len(thresholds)]
        fast = detection_map(gt, preds, thr, classes=classes)
        ref = reference_detection_map(gt, preds, thr, classes=classes)
        assert fast == ref, f'case {case}'


def test_exactly_equal_to_reference_thumos_sized():
    """Realistic sizes (many gt per video-class, > 16 so argsort leaves its small-array path)."""
    rng = np.random.default_rng(7)
    gt, preds = {}, {}
    for v in range(12):
        anns = [G(float(s), float(s) + float(rng.integers(2, 8)), f'c{rng.integers(2)}')
                for s in rng.integers(0, 300, int(rng.integers(20, 60)))]
        gt[f'v{v}'] = anns
        out = []
        for _ in range(150):
            a = anns[rng.integers(len(anns))]
            s = a['segment'][0] + float(rng.integers(-2, 3))
            out.append(P(s, s + float(rng.integers(1, 8)), a['label'],
                         round(float(rng.random()), 1)))
        preds[f'v{v}'] = out
    fast = detection_map(gt, preds)
    assert fast == reference_detection_map(gt, preds)
    assert 0 < fast['average_mAP'] < 1
