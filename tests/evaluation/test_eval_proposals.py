"""AR@AN (ActivityNet proposal protocol) on hand-made cases."""
import numpy as np
import pytest

from tadet.evaluation.functional import average_recall_at_num_proposals, recall_at


def P(s, e, score):
    return dict(segment=[s, e], score=score)


def test_hand_made_curve_and_auc():
    gt = {'v': [dict(segment=[0, 10], label='A'), dict(segment=[20, 30], label='B')]}
    props = {'v': [P(50, 60, 0.8), P(0, 10, 0.9), P(20, 30, 0.7)]}  # sorted: hit, miss, hit
    res = average_recall_at_num_proposals(gt, props, [0.5], max_avg_num_proposals=3)
    an = res['num_proposals']
    np.testing.assert_allclose(an, 3 * np.arange(1, 101) / 100)
    # budget of the video at point j = int(3 * j / 100): 0 for j<=33, 1 for 34..66, 2 for
    # 67..99 (2nd proposal misses), 3 at j=100.
    expected = np.zeros(100)
    expected[33:99] = 0.5
    expected[99] = 1.0
    np.testing.assert_array_equal(res['average_recall'], expected)
    np.testing.assert_array_equal(res['recall'], expected[None])
    # trapezoids with step 0.03: (0.25 + 65 * 0.5 + 0.75) * 0.03 over AN_max = 3
    assert res['auc'] == pytest.approx((0.25 + 65 * 0.5 + 0.75) * 0.03 / 3)
    assert recall_at(res, 3) == 1.0
    assert recall_at(res, 1.5) == 0.5


def test_average_over_thresholds_and_videos():
    gt = {'a': [dict(segment=[0, 10], label='x')], 'b': [dict(segment=[0, 10], label='x')],
          'empty': []}
    props = {'a': [P(0, 6, 1.0)],  # tIoU 0.6
             'b': [P(0, 10, 1.0)], 'empty': [P(0, 1, 1.0)]}
    res = average_recall_at_num_proposals(gt, props, [0.5, 0.7], max_avg_num_proposals=1)
    # videos with ground truth: a, b (one proposal each). At AN=1: thr 0.5 -> 2/2, 0.7 -> 1/2
    np.testing.assert_allclose(res['recall'][:, -1], [1.0, 0.5])
    assert res['average_recall'][-1] == pytest.approx(0.75)
    assert recall_at(res, 1) == pytest.approx(0.75)


def test_truncation_to_max_avg_and_no_proposals():
    gt = {'v': [dict(segment=[0, 10], label='x')], 'w': [dict(segment=[0, 10], label='x')]}
    # v: 4 proposals, the good one last; w has none. ratio = 2 * 2 / 4 = 1 -> all kept.
    props = {'v': [P(50, 60, 0.9), P(60, 70, 0.8), P(70, 80, 0.7), P(0, 10, 0.1)]}
    res = average_recall_at_num_proposals(gt, props, [0.5], max_avg_num_proposals=2)
    assert res['average_recall'][-1] == 0.5  # v recalled with all 4, w never
    assert res['num_proposals'][-1] == pytest.approx(2.0)
    # with max 1 per video on average: ratio 0.5 -> v keeps its 2 best, which miss
    res = average_recall_at_num_proposals(gt, props, [0.5], max_avg_num_proposals=1)
    assert res['average_recall'].max() == 0.0
    assert res['auc'] == 0.0


def test_empty_proposals():
    gt = {'v': [dict(segment=[0, 10], label='x')]}
    res = average_recall_at_num_proposals(gt, {}, [0.5])
    assert res['auc'] == 0.0 and res['average_recall'].shape == (100, )
    assert res['num_proposals'][-1] == pytest.approx(100)


def test_perfect_proposals():
    gt = {f'v{i}': [dict(segment=[i, i + 5], label='x')] for i in range(5)}
    props = {f'v{i}': [P(i, i + 5, 1.0)] + [P(100 + k, 101 + k, 0.5) for k in range(99)]
             for i in range(5)}
    res = average_recall_at_num_proposals(gt, props)
    assert recall_at(res, 1) == 1.0 and recall_at(res, 100) == 1.0
    assert res['auc'] == pytest.approx(0.99)  # area from AN=1 to 100, divided by 100
