import json

import pytest
import torch

from tadet.models.post_processing import TADPostProcessor, decode_class_scores
from tadet.structures import SnippetGeometry

META = dict(video_name='v', fps=10.0, feature_stride=2.0, offset_frames=0.0, duration=20.0,
            num_snippets=100, snippet_scale=1.0)


def cand(segs, scores, labels):
    return dict(segments=torch.tensor(segs, dtype=torch.float32),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.tensor(labels))


def test_decode_class_scores_topk():
    segs = torch.tensor([[0., 1.], [2., 3.]])
    cls = torch.tensor([[0.1, 0.9], [0.8, 0.05]])
    out = decode_class_scores(segs, cls, topk=2, score_thr=0.06)
    assert out['scores'].tolist() == pytest.approx([0.9, 0.8])
    assert out['labels'].tolist() == [1, 0]
    assert out['segments'].tolist() == [[0., 1.], [2., 3.]]


def test_window_offsets_seconds_and_merge():
    pp = TADPostProcessor(nms=dict(method='hard', iou_threshold=0.5), max_per_video=10)
    geo = SnippetGeometry(10.0, 2.0, 0.0)
    # the same action seen from two overlapping windows (starts 0 and 40) -> one detection
    out = pp([cand([[45., 55.]], [0.9], [1]), cand([[5.5, 15.]], [0.6], [1])], [0, 40], META)
    assert len(out.scores) == 1 and out.labels.tolist() == [1]
    torch.testing.assert_close(out.segments, geo.snippets_to_seconds(
        torch.tensor([[45., 55.]], dtype=torch.float64)))
    # different classes survive per-class NMS
    out = pp([cand([[5., 15.], [5., 15.]], [0.9, 0.8], [0, 1])], [0], META)
    assert sorted(out.labels.tolist()) == [0, 1]


def test_clipping_topk_and_score_threshold():
    pp = TADPostProcessor(nms=None, max_per_video=2, score_thr=0.1)
    out = pp([cand([[-5., 3.], [90., 130.], [10., 20.], [30., 40.]], [0.5, 0.7, 0.05, 0.2],
                   [0, 0, 0, 0])], [0], META)
    assert out.scores.tolist() == pytest.approx([0.7, 0.5])
    assert out.segments.min() >= 0 and out.segments.max() <= META['duration']


def test_resize_scale_maps_back():
    meta = dict(META, snippet_scale=2.5)
    out = TADPostProcessor(nms=None)([cand([[4., 8.]], [0.9], [0])], [0], meta)
    geo = SnippetGeometry(10.0, 2.0, 0.0)
    torch.testing.assert_close(out.segments, geo.snippets_to_seconds(
        torch.tensor([[10., 20.]], dtype=torch.float64)))


def test_external_classifier_fusion(tmp_path):
    f = tmp_path / 'cls.json'
    f.write_text(json.dumps({'results': {'v': [0.1, 0.7, 0.2]}}))
    pp = TADPostProcessor(nms=None, external_classifier=dict(file=str(f), topk=2),
                          num_classes=3)
    out = pp([cand([[5., 15.]], [0.5], [0])], [0], META)
    assert sorted(zip(out.labels.tolist(), out.scores.tolist())) == [
        (1, pytest.approx(0.35)), (2, pytest.approx(0.1))]


def test_unknown_nms_key_is_an_error():
    with pytest.raises(ValueError, match='iou_thresh'):
        TADPostProcessor(nms=dict(method='hard', iou_thresh=0.5))


def test_empty_candidates():
    out = TADPostProcessor(nms=dict(method='gaussian', sigma=0.5))([], [], META)
    assert out.segments.shape == (0, 2)
