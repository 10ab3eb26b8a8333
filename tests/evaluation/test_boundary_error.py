import pytest

from tadet.evaluation.analysis import boundary_errors, format_boundary_table


def test_signed_errors_of_the_best_match():
    gt = {'v': [dict(segment=[10.0, 20.0], label='a'), dict(segment=[40.0, 50.0], label='a'),
                dict(segment=[70.0, 80.0], label='b')],
          'w': [dict(segment=[0.0, 4.0], label='a')]}
    preds = {'v': [dict(segment=[11.0, 19.0], label='a', score=0.9),   # short: +1 / -1
                   dict(segment=[10.5, 20.5], label='a', score=0.8),   # shifted, tIoU 0.9
                   dict(segment=[41.0, 49.5], label='a', score=0.7),   # +1 / -0.5
                   dict(segment=[70.0, 80.0], label='a', score=0.95)],  # wrong class
             'w': [dict(segment=[3.0, 9.0], label='a', score=0.5)]}   # tIoU 1/9: no match
    r = boundary_errors(gt, preds, tiou=0.5, top_k=100, snippet_seconds=0.5)
    assert (r['matched'], r['unmatched']) == (2, 2)
    # the best match of [10, 20] is the highest tIoU one ([10.5, 20.5], 0.905 > 0.8)
    rows = {tuple(x[2:4]): x[4:] for x in r['per_instance']}
    assert rows[(10.0, 20.0)] == [10.5, 20.5] and rows[(40.0, 50.0)] == [41.0, 49.5]
    assert r['start']['mean'] == pytest.approx(0.75) and r['end']['mean'] == pytest.approx(0.0)
    assert r['length']['median'] == pytest.approx(-0.75)
    text = format_boundary_table(r)
    assert '2 matched, 2 unmatched' in text and 'snippets' in text
    # top_k cuts the candidates by score: with the best one only, [10, 20] matches [11, 19]
    r1 = boundary_errors(gt, preds, tiou=0.5, top_k=1)
    assert r1['matched'] == 0  # v's top-1 is the wrong-class detection
    assert boundary_errors({}, {}, 0.5)['start']['median'] is None
