"""The head contract: a detector is extract_feat + the heads' losses + the heads' candidates,
with one validated test_cfg handed to the heads."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tadet.models.dense_heads import BaseTADHead, unpack_gt_instances
from tadet.models.detectors import BaseTADDetector
from tadet.models.post_processing import decode_class_scores

from tadet_testing import make_data_samples


class ToyHead(BaseTADHead):
    """Per-snippet softmax (background last); a candidate per snippet and class."""
    TEST_CFG_KEYS = frozenset({'pre_nms_topk', 'score_thr', 'toy_scale'})

    def __init__(self, in_channels=4, num_classes=2, init_cfg=None):
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.conv = nn.Conv1d(in_channels, num_classes + 1, 1)

    def forward(self, feats, masks):
        return self.conv(feats)

    def loss_by_feat(self, logits, masks, data_samples):
        segs, labels = unpack_gt_instances(data_samples, logits.device)
        target = torch.full(masks.shape, self.num_classes, dtype=torch.long)
        centres = torch.arange(masks.shape[1]) + 0.5
        for b, (s, lab) in enumerate(zip(segs, labels)):
            for (a, e), c in zip(s, lab):
                target[b][(centres >= a) & (centres <= e)] = c
        return dict(loss_toy=F.cross_entropy(logits, target))

    def predict_by_feat(self, logits, masks):
        scale = self.get_test_cfg('toy_scale', 1.0)
        probs = logits.softmax(1)[:, :-1] * scale  # [W, C, T]
        t = torch.arange(logits.shape[-1], dtype=torch.float32)
        segs = torch.stack([t, t + 1], 1)
        return [decode_class_scores(segs, p.T, self.get_test_cfg('pre_nms_topk', -1),
                                    self.get_test_cfg('score_thr', 0.0)) for p in probs]


class ToyDetector(BaseTADDetector):
    STATE_DICT_RENAMES = (('old_head.', 'head.'),)

    def __init__(self, test_cfg=None):
        super().__init__(test_cfg=test_cfg)
        self.head = ToyHead()

    def extract_feat(self, inputs, masks):
        return inputs


def _samples(n=1, length=8):
    # one segment, two labels
    return make_data_samples([([[2.0, 5.0], [2.0, 5.0]], [0, 1])] * n, length, fps=1.0,
                             window_start=None, snippet_scale=None)


def test_detector_is_extract_feat_plus_heads():
    torch.manual_seed(0)
    model = ToyDetector(test_cfg=dict(nms=None, max_per_video=-1, pre_nms_topk=3,
                                      toy_scale=2.0))
    x, masks = torch.randn(2, 4, 8), torch.ones(2, 8, dtype=torch.bool)
    losses = model(x, masks, _samples(2), mode='loss')
    assert set(losses) == {'loss_toy'} and losses['loss_toy'].requires_grad
    # the head got its own keys of the one test_cfg, nothing else
    assert model.head.test_cfg == dict(pre_nms_topk=3, toy_scale=2.0)
    pred = model(x[:1], masks[:1], _samples(1), mode='predict')[0].pred_instances
    assert len(pred.scores) == 3  # pre_nms_topk applied once, where candidates are made
    probs = model.head.conv(x[:1]).softmax(1)[0, :-1] * 2.0
    assert pred.scores.tolist() == pytest.approx(probs.flatten().topk(3).values.tolist())


def test_unknown_test_cfg_key_names_it_and_lists_head_keys():
    with pytest.raises(ValueError, match=r"toy_scal'.*toy_scale"):
        ToyDetector(test_cfg=dict(toy_scal=1.0))


def test_nested_post_processing_is_a_migration_error():
    with pytest.raises(ValueError, match='flattened'):
        ToyDetector(test_cfg=dict(post_processing=dict(max_per_video=10)))


def test_head_reads_only_listed_keys():
    head = ToyHead()
    with pytest.raises(KeyError, match='nms'):
        head.get_test_cfg('nms')


def test_state_dict_renames_load_old_checkpoints():
    torch.manual_seed(0)
    old = {('old_' + k if k.startswith('head.') else k): v
           for k, v in ToyDetector().state_dict().items()}
    model = ToyDetector()
    model.load_state_dict(old)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, old.get(k, old.get('old_' + k)))


def test_unpack_gt_instances_keeps_every_label_of_a_segment():
    segs, labels = unpack_gt_instances(_samples(1), torch.device('cpu'))
    assert segs[0].tolist() == [[2.0, 5.0], [2.0, 5.0]] and labels[0].tolist() == [0, 1]
    # class-agnostic: one segment is one proposal target, kept once
    segs, agnostic = unpack_gt_instances(_samples(1), torch.device('cpu'), class_agnostic=True)
    assert segs[0].tolist() == [[2.0, 5.0]] and agnostic[0].tolist() == [0]
