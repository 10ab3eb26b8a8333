"""One segment, several labels (issue 16.1): every head's targets on a segment annotated both
Diving and CliffDiving (CliffDiving is a kind of Diving: the sample's label_hierarchy).

Softmax heads train the specific label (CliffDiving), sigmoid heads both, class-agnostic
proposal heads the segment once; a rule that keeps the first annotation (Diving here) would make
CliffDiving unlearnable."""
import pytest
import torch

import tadet.models  # noqa: F401
from tadet.models.dense_heads import SnippetBaselineHead, unpack_gt_instances
from tadet.models.task_modules import AFSDAssigner
from tadet.registry import MODELS

from tadet_testing import make_data_samples

pytestmark = pytest.mark.usefixtures('single_thread')

DIVING, CLIFF, OTHER = 1, 2, 0
HIERARCHY = ((CLIFF, DIVING),)
CPU = torch.device('cpu')


def samples(gts, num_snippets, hierarchy=HIERARCHY):
    out = make_data_samples(gts, num_snippets)
    for s in out:
        s.set_metainfo(dict(label_hierarchy=hierarchy))
    return out


def spy(monkeypatch, obj, name):
    """Record (args, result) of every call of ``obj.name``."""
    calls, orig = [], getattr(obj, name)

    def wrapper(*args, **kwargs):
        out = orig(*args, **kwargs)
        calls.append((args, out))
        return out
    monkeypatch.setattr(obj, name, wrapper)
    return calls


# Diving listed first: "take the first ground truth" would train Diving only
GT = ([[20., 60.], [20., 60.], [80., 100.]], [DIVING, CLIFF, OTHER])


# -- unpack_gt_instances rules -------------------------------------------------------------------
def test_unpack_rules():
    data = samples([GT], 128)
    segs, labels = unpack_gt_instances(data, CPU)  # 'all': every (segment, label) entry
    assert labels[0].tolist() == [DIVING, CLIFF, OTHER] and segs[0].shape == (3, 2)
    segs, labels = unpack_gt_instances(data, CPU, label_rule='specific')
    assert labels[0].tolist() == [CLIFF, OTHER]
    assert segs[0].tolist() == [[20., 60.], [80., 100.]]
    segs, labels = unpack_gt_instances(data, CPU, class_agnostic=True, label_rule='specific')
    assert segs[0].tolist() == [[20., 60.], [80., 100.]] and labels[0].tolist() == [0, 0]
    with pytest.raises(ValueError, match='label_rule'):
        unpack_gt_instances(data, CPU, label_rule='first')


def test_specific_rule_needs_the_same_segment_and_a_declared_relation():
    gts = [([[20., 60.], [20., 61.], [5., 9.]], [DIVING, CLIFF, DIVING])]  # not the same segment
    _, labels = unpack_gt_instances(samples(gts, 128), CPU, label_rule='specific')
    assert labels[0].tolist() == [DIVING, CLIFF, DIVING]
    # no hierarchy in the metainfo (or one that does not relate them): both kept, in order
    for data in (make_data_samples([GT], 128), samples([GT], 128, hierarchy=((OTHER, DIVING),))):
        _, labels = unpack_gt_instances(data, CPU, label_rule='specific')
        assert labels[0].tolist() == [DIVING, CLIFF, OTHER]
    # a chain 3 -> 2 -> 1: an ancestor two levels up is implied too
    gts = [([[1., 5.]] * 3, [DIVING, 3, CLIFF])]
    _, labels = unpack_gt_instances(samples(gts, 16, ((3, CLIFF), (CLIFF, DIVING))), CPU,
                                    label_rule='specific')
    assert labels[0].tolist() == [3]


# -- A2Net ---------------------------------------------------------------------------------------
CH = (16,) * 6


def pyramid(T=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(1, 16, T // 2 ** (i + 1), generator=g) for i in range(6)]


def test_a2net_anchor_targets_train_the_specific_label(monkeypatch):
    torch.manual_seed(0)
    head = MODELS.build(dict(type='A2NetAnchorHead', num_classes=3, in_channels=CH))
    calls = spy(monkeypatch, head.assigner, 'assign')
    masks = torch.ones(1, 128, dtype=torch.bool)
    head.loss(pyramid(), masks, samples([GT], 128))
    (args, res), = calls
    assert args[2].tolist() == [CLIFF, OTHER]  # the gt labels the assigner sees
    pos = res.gt_inds > 0
    assert pos.any()
    assert set(res.labels[pos].tolist()) == {CLIFF, OTHER}
    on_dive = pos & (res.gt_inds == 1)
    assert on_dive.any() and (res.labels[on_dive] == CLIFF).all()


def test_a2net_anchor_free_targets_train_the_specific_label(monkeypatch):
    torch.manual_seed(0)
    head = MODELS.build(dict(type='A2NetAnchorFreeHead', num_classes=3, in_channels=CH,
                             feat_channels=16,
                             point_generator=dict(type='PointGenerator1d', regress_ranges=(
                                 (0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4)))))
    calls = spy(monkeypatch, head, 'get_targets')
    head.loss(pyramid(), torch.ones(1, 128, dtype=torch.bool), samples([GT], 128))
    (args, (labels, _)), = calls
    assert args[2].tolist() == [CLIFF, OTHER]
    fg = labels[labels < 3]
    assert (fg == CLIFF).any() and not (fg == DIVING).any()


# -- AFSD ----------------------------------------------------------------------------------------
def test_afsd_assign_trains_the_specific_label():
    centres = torch.arange(128, dtype=torch.float32) + 0.5
    segs, labels = unpack_gt_instances(samples([GT], 128), CPU, label_rule='specific')
    res = AFSDAssigner().assign(centres, segs[0], labels[0])
    inside = (centres > 20) & (centres < 60)
    assert (res.labels[inside] == CLIFF).all()
    assert not (res.labels == DIVING).any()


def test_afsd_head_unpacks_the_specific_label(monkeypatch):
    gn = dict(type='GN', num_groups=4)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='AFSD', num_classes=3,
        neck=dict(type='AFSDPyramidNeck', in_channels=8, channels=16, num_levels=6,
                  norm_cfg=gn),
        frame_branch=dict(type='AFSDFrameLevelBranch', in_channels=16, out_channels=16,
                          norm_cfg=gn),
        head=dict(type='AFSDHead',
                  coarse_head=dict(type='AFSDCoarseHead', num_classes=3, in_channels=16,
                                   feat_channels=16, num_levels=6, norm_cfg=gn),
                  refine_head=dict(type='AFSDRefineHead', num_classes=3, in_channels=16,
                                   frame_channels=16, feat_channels=16, norm_cfg=gn))))
    calls = spy(monkeypatch, model.head.assigner, 'assign')
    x = torch.randn(1, 8, 128)
    model.loss(x, torch.ones(1, 128, dtype=torch.bool), samples([GT], 128))
    (args, res), = calls
    assert args[2].tolist() == [CLIFF, OTHER]
    assert (res.labels == CLIFF).any() and not (res.labels == DIVING).any()


# -- snippet class targets -----------------------------------------------------------------------
@pytest.mark.parametrize('head_type,method', [('SnippetClassificationHead', 'targets'),
                                              ('SegTADSegHead', 'get_targets')])
def test_snippet_class_targets_train_the_specific_label(monkeypatch, head_type, method):
    torch.manual_seed(0)
    head = MODELS.build(dict(type=head_type, in_channels=4, num_classes=3, feat_channels=8))
    calls = spy(monkeypatch, head, method)
    head.loss(torch.randn(1, 4, 128), torch.ones(1, 128, dtype=torch.bool), samples([GT], 128))
    (_, out), = calls
    cls = out[0] if isinstance(out, tuple) else out  # SegTAD: (class, boundary) targets
    assert (cls[0, 20:60] == CLIFF).all() and (cls[0, 80:100] == OTHER).all()
    assert not (cls == DIVING).any()


def test_snippet_baseline_multi_hot_keeps_both_labels():
    head = SnippetBaselineHead(in_channels=4, num_classes=3)
    t = head.targets(torch.ones(1, 128, dtype=torch.bool), samples([GT], 128))  # [B, T, C]
    assert (t[0, 20:60, DIVING] == 1).all() and (t[0, 20:60, CLIFF] == 1).all()
    assert (t[0, 20:60, OTHER] == 0).all() and (t[0, 80:100, OTHER] == 1).all()


# -- class-agnostic proposal targets -------------------------------------------------------------
def test_class_agnostic_heads_see_a_segment_once(monkeypatch):
    torch.manual_seed(0)
    tem = MODELS.build(dict(type='TEMHead', in_channels=16, feat_channels=16))
    calls = spy(monkeypatch, tem, 'targets')
    masks = torch.ones(1, 128, dtype=torch.bool)
    data = samples([GT], 128)
    tem.loss(torch.randn(1, 16, 128), masks, data)
    (args, once), = calls
    assert args[1][0].tolist() == [[20., 60.], [80., 100.]]
    # same boundary targets as the segment listed once by hand
    single = tem.targets(masks, [torch.tensor([[20., 60.], [80., 100.]])])
    for a, b in zip(once, single):
        torch.testing.assert_close(a, b)
