"""Inference side of a label hierarchy (issue 16.1): softmax heads train the specific label
(CliffDiving); the post-processing also emits the label it implies (Diving), same segment and
score, before per-class NMS."""
import pytest
import torch

from tadet.models.post_processing import TADPostProcessor
from tadet.models.post_processing.post_processor import add_implied_labels
from tadet.registry import MODELS

DIVING, CLIFF = 1, 2
META = dict(video_name='v', fps=10.0, feature_stride=1.0, offset_frames=0.0, duration=10.0,
            num_snippets=100, snippet_scale=1.0, label_hierarchy=((CLIFF, DIVING),))
NMS = dict(method='hard', iou_threshold=0.5, multiclass=True)


def cand(segs, scores, labels):
    return dict(segments=torch.tensor(segs, dtype=torch.float32),
                scores=torch.tensor(scores, dtype=torch.float32), labels=torch.tensor(labels))


def as_set(out):
    return sorted(zip(out.labels.tolist(), [round(s, 4) for s in out.scores.tolist()],
                      [tuple(round(x, 3) for x in s) for s in out.segments.tolist()]))


def test_child_detection_is_copied_with_the_parent_label():
    pp = TADPostProcessor(nms=NMS, max_per_video=10)
    out = pp([cand([[10., 20.], [50., 60.]], [0.9, 0.4], [CLIFF, 0])], [0], META)
    assert as_set(out) == [(0, 0.4, (4.95, 5.95)), (DIVING, 0.9, (0.95, 1.95)),
                           (CLIFF, 0.9, (0.95, 1.95))]


def test_copy_goes_through_the_parent_class_nms():
    pp = TADPostProcessor(nms=NMS, max_per_video=10)
    # a native Diving detection on the same action, weaker than the copied CliffDiving one:
    # per-class NMS on Diving keeps the copy only
    out = pp([cand([[10., 20.]], [0.9], [CLIFF]), cand([[11., 20.]], [0.5], [DIVING])],
             [0, 0], META)
    assert as_set(out) == [(DIVING, 0.9, (0.95, 1.95)), (CLIFF, 0.9, (0.95, 1.95))]


def test_class_agnostic_nms_does_not_suppress_the_copy():
    pp = TADPostProcessor(nms=dict(NMS, multiclass=False), max_per_video=10)
    out = pp([cand([[10., 20.]], [0.9], [CLIFF])], [0], META)
    assert sorted(out.labels.tolist()) == [DIVING, CLIFF]


def test_off_or_without_hierarchy_nothing_is_added():
    c = [cand([[10., 20.]], [0.9], [CLIFF])]
    assert TADPostProcessor(nms=NMS, implied_labels=False)(c, [0], META).labels.tolist() == \
        [CLIFF]
    meta = {k: v for k, v in META.items() if k != 'label_hierarchy'}
    assert TADPostProcessor(nms=NMS)(c, [0], meta).labels.tolist() == [CLIFF]
    assert TADPostProcessor(nms=NMS)(c, [0], dict(META, label_hierarchy=())).labels.tolist() \
        == [CLIFF]


def test_add_implied_labels_chain():
    dets = dict(segments=torch.tensor([[0., 1.], [2., 3.]]), scores=torch.tensor([0.5, 0.2]),
                labels=torch.tensor([3, CLIFF]))
    out = add_implied_labels(dets, ((3, CLIFF), (CLIFF, DIVING)))
    got = sorted(zip(out['labels'].tolist(), [round(x, 4) for x in out['scores'].tolist()]))
    assert got == [(DIVING, 0.2), (DIVING, 0.5), (CLIFF, 0.2), (CLIFF, 0.5), (3, 0.5)]
    # originals first, unchanged
    assert out['labels'][:2].tolist() == [3, CLIFF]


def test_implied_labels_is_a_test_cfg_key():
    import tadet.models  # noqa: F401

    def build(**test_cfg):
        return MODELS.build(dict(type='SnippetBaseline', in_channels=6, feat_channels=8,
                                 num_layers=3,
                                 cls_head=dict(type='SnippetBaselineHead', num_classes=3),
                                 test_cfg=test_cfg))
    assert build().post_processor.implied_labels is True
    assert build(implied_labels=False).post_processor.implied_labels is False
    with pytest.raises(ValueError, match='implied_label'):
        build(implied_label=False)
