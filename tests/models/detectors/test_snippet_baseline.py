"""SnippetBaseline: multi-hot targets, threshold-run decoding, loss / predict, configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tadet.models import TADDataPreprocessor
from tadet.models.dense_heads import SnippetBaselineHead, threshold_runs
from tadet.models.task_modules.snippet_multilabel_targets import snippet_multilabel_targets
from tadet.registry import MODELS

from tadet_testing import REPO, make_data_samples


def _sample(segments, labels, num_snippets=16):
    return make_data_samples([(segments, labels)], num_snippets, fps=1.0)[0]


def _small(**kw):
    cfg = dict(type='SnippetBaseline', in_channels=6, feat_channels=8, num_layers=3,
               cls_head=dict(type='SnippetBaselineHead', num_classes=3),
               test_cfg=dict(nms=dict(method='hard', iou_threshold=0.6, multiclass=True),
                             max_per_video=50))
    cfg.update(kw)
    return MODELS.build(cfg)


def test_multilabel_targets_one_segment_two_labels():
    # [2, 5] is labelled 0 and 2 (as CliffDiving + Diving); [6, 8] is labelled 1
    segs = torch.tensor([[2.0, 5.0], [2.0, 5.0], [6.0, 8.0]])
    t = snippet_multilabel_targets(segs, torch.tensor([0, 2, 1]), 10, 3)
    expected = torch.zeros(10, 3)
    expected[2:5, 0] = 1  # centres 2.5, 3.5, 4.5 lie in [2, 5]
    expected[2:5, 2] = 1  # the same snippets carry the second label too
    expected[6:8, 1] = 1
    assert torch.equal(t, expected)
    assert torch.equal(snippet_multilabel_targets(torch.zeros(0, 2), torch.zeros(0), 4, 3),
                       torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r'one label in \[0, 3\)'):
        snippet_multilabel_targets(segs, torch.tensor([0, 3, 1]), 10, 3)
    with pytest.raises(ValueError, match='for 3 segments'):
        snippet_multilabel_targets(segs, torch.tensor([0, 1]), 10, 3)


def test_head_targets_through_gt_instances():
    head = SnippetBaselineHead(in_channels=4, num_classes=3)
    masks = torch.ones(1, 10, dtype=torch.bool)
    t = head.targets(masks, [_sample([[2, 5], [2, 5]], [2, 0], 10)])
    assert t.shape == (1, 10, 3)
    assert t[0, 2:5, 0].eq(1).all() and t[0, 2:5, 2].eq(1).all() and t.sum() == 6


def test_threshold_runs_hand_case():
    probs = torch.tensor([[0.1, 0.3, 0.6, 0.9, 0.6, 0.1, 0.4, 0.0],
                          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9]])
    runs = threshold_runs(probs, (0.2, 0.5))
    # threshold 0.2: class 0 [1, 5) and [6, 7), class 1 [6, 8) (reaches the end);
    # threshold 0.5: class 0 [2, 5), class 1 [6, 8)
    assert runs['segments'].tolist() == [[1, 5], [6, 7], [6, 8], [2, 5], [6, 8]]
    assert runs['labels'].tolist() == [0, 0, 1, 0, 1]
    assert runs['scores'] == pytest.approx(torch.tensor([0.6, 0.4, 0.9, 0.7, 0.9]), abs=1e-6)
    # a threshold nothing exceeds gives nothing
    assert threshold_runs(probs, (0.95,))['segments'].shape == (0, 2)


def test_predict_by_feat_dedup_padding_and_topk():
    head = SnippetBaselineHead(in_channels=4, num_classes=2)
    probs = torch.tensor([[[0.1, 0.3, 0.6, 0.9, 0.6, 0.1, 0.4, 0.0],
                           [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9]]])
    logits = torch.logit(probs, eps=1e-6)
    head.test_cfg = dict(thresholds=(0.2, 0.5))
    out = head.predict_by_feat(logits, torch.ones(1, 8, dtype=torch.bool))[0]
    got = sorted(zip(out['labels'].tolist(), out['segments'].tolist()))
    # class 1's [6, 8) is found at both thresholds but is one candidate
    assert got == [(0, [1, 5]), (0, [2, 5]), (0, [6, 7]), (1, [6, 8])]
    # padded snippets never fire: the last two snippets are padding
    masks = torch.ones(1, 8, dtype=torch.bool)
    masks[0, 6:] = False
    out = head.predict_by_feat(logits, masks)[0]
    assert sorted(zip(out['labels'].tolist(), out['segments'].tolist())) == [
        (0, [1, 5]), (0, [2, 5])]
    # the shared per-window cut: best pre_nms_topk above score_thr
    head.test_cfg = dict(thresholds=(0.2, 0.5), pre_nms_topk=2, score_thr=0.5)
    out = head.predict_by_feat(logits, torch.ones(1, 8, dtype=torch.bool))[0]
    assert out['labels'].tolist() == [1, 0] and out['segments'].tolist() == [[6, 8], [2, 5]]
    assert out['scores'] == pytest.approx([0.9, 0.7], abs=1e-5)


def test_loss_backward_and_predict_tiny():
    torch.manual_seed(0)
    model = _small()
    samples = [_sample([[2, 9], [2, 9]], [0, 2]), _sample([[1, 4]], [1], 12)]
    feats = [torch.randn(6, 16), torch.randn(6, 12)]
    data = TADDataPreprocessor()(dict(inputs=feats, data_samples=samples))
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls'} and torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())
    # padding (snippets 12..15 of the second sample) does not enter the loss
    logits = model.cls_head(model.extract_feat(data['inputs'], data['masks']), data['masks'])
    changed = logits.detach().clone()
    changed[1, :, 12:] += 10
    a = model.cls_head.loss_by_feat(logits.detach(), data['masks'], data['data_samples'])
    b = model.cls_head.loss_by_feat(changed, data['masks'], data['data_samples'])
    assert torch.equal(a['loss_cls'], b['loss_cls'])
    # the conv stack keeps padding at zero
    assert model.extract_feat(data['inputs'], data['masks'])[1, :, 12:].abs().sum() == 0
    model.eval()
    with torch.no_grad():
        model.cls_head.cls_out.bias.fill_(0.0)  # probabilities around 0.5: some runs fire
        out = model(**data, mode='predict')
    for s in out:
        p = s.pred_instances
        assert p.segments.shape[1] == 2 and len(p.scores) == len(p.labels) <= 50
        assert (p.scores > 0.2).all() and (p.labels < 3).all()
    assert len(out[0].pred_instances.scores) > 0
    assert [t.shape for t in model(data['inputs'], data['masks'], mode='tensor')] == [
        (2, 3, 16)]


def test_bad_config_raises():
    with pytest.raises(ValueError, match='thresholdz'):
        _small(test_cfg=dict(thresholdz=(0.5,)))
    with pytest.raises(ValueError, match='in_channels'):
        _small(cls_head=dict(type='SnippetBaselineHead', num_classes=3, in_channels=5))
    with pytest.raises(ValueError, match='kernel_size'):
        _small(kernel_size=2)
    head = SnippetBaselineHead(in_channels=4, num_classes=2)
    for bad in (0.5, (), (0.2, 1.0)):
        head.test_cfg = dict(thresholds=bad)
        with pytest.raises(ValueError, match='thresholds'):
            head.predict_by_feat(torch.zeros(1, 2, 8), torch.ones(1, 8, dtype=torch.bool))


def test_configs_build():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'snippet_baseline',
                                   'snippet_baseline_thumos14_synth.py'))
    model = MODELS.build(cfg.model)
    assert model.input_proj.in_channels == 64 and len(model.layers) == 8
    assert [layer.conv_dilated.dilation[0] for layer in model.layers] == [1, 2, 4, 8] * 2
    assert model.cls_head.test_cfg['thresholds'] == (0.2, 0.35, 0.5, 0.65, 0.8)
    assert model.post_processor.nms['iou_threshold'] == 0.6
    assert model.sliding_window.size == 256 and model.sliding_window.stride == 128
    assert cfg.train_cfg.max_iters == 1500 and cfg.train_dataloader.dataset.window is None
    # every action overlapping a random crop stays a target
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomTruncate']
    assert crop[0].size == 256 and crop[0].min_gt_coverage == 0.0
    from mmcv.transforms import Compose

    from tadet.registry import TRANSFORMS
    Compose([TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline])
