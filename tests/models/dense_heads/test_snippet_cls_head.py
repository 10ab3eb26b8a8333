import pytest
import torch
from mmengine.structures import InstanceData

from tadet.models.dense_heads import (BaseTADHead, SnippetClassificationHead,
                                      proposal_class_scores)
from tadet.models.task_modules import snippet_class_targets
from tadet.registry import TASK_UTILS
from tadet.structures import TADDataSample


def samples(segs, labels):
    out = []
    for sg, lab in zip(segs, labels):
        s = TADDataSample()
        g = InstanceData()
        g.segments, g.labels = sg, lab
        s.gt_instances = g
        out.append(s)
    return out


def test_snippet_class_targets_hand_made():
    segs = torch.tensor([[1.0, 4.0], [2.2, 3.0], [7.6, 8.4]])
    labels = torch.tensor([0, 2, 1])
    t = snippet_class_targets(segs, labels, num_snippets=10, num_classes=3)
    # centres 0.5 .. 9.5; [1,4] covers 1.5,2.5,3.5; the shorter [2.2,3] takes 2.5;
    # [7.6, 8.4] contains no centre (8.5 > 8.4, 7.5 < 7.6)
    assert t.tolist() == [3, 0, 2, 0, 3, 3, 3, 3, 3, 3]


def test_snippet_class_targets_empty_and_bad_labels():
    t = snippet_class_targets(torch.zeros((0, 2)), torch.zeros((0,), dtype=torch.long), 4, 5)
    assert t.tolist() == [5, 5, 5, 5]
    with pytest.raises(ValueError, match='labels must be in'):
        snippet_class_targets(torch.tensor([[0.0, 2.0]]), torch.tensor([5]), 4, 5)


def test_proposal_class_scores_is_mean_over_covered_snippets():
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    segs = torch.tensor([[0.0, 2.0], [1.5, 3.2], [3.0, 3.0], [-5.0, 100.0]])
    out = proposal_class_scores(probs, segs)
    assert torch.allclose(out[0], torch.tensor([0.5, 0.5]))
    assert torch.allclose(out[1], probs[1:4].mean(0))
    assert torch.allclose(out[2], probs[3])      # zero length -> its own snippet
    assert torch.allclose(out[3], probs.mean(0))  # clipped to the sequence
    assert proposal_class_scores(probs, torch.zeros((0, 2))).shape == (0, 2)


def test_head_learns_snippet_labels_and_ignores_padding():
    torch.manual_seed(0)
    head = SnippetClassificationHead(in_channels=4, num_classes=2, feat_channels=8)
    x = torch.randn(2, 4, 16)
    masks = torch.ones(2, 16, dtype=torch.bool)
    masks[1, 12:] = False
    segs = [torch.tensor([[2.0, 6.0]]), torch.tensor([[8.0, 12.0]])]
    labels = [torch.tensor([1]), torch.tensor([0])]
    targets = head.targets(masks, segs, labels)
    assert (targets[1, 12:] == -100).all() and targets[0, 3].item() == 1
    assert isinstance(head, BaseTADHead)
    data = samples(segs, labels)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = head.loss(x, masks, data)['loss_snippet_cls']  # forward + loss_by_feat
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    probs = head.probabilities(head(x))
    assert probs.shape == (2, 16, 2)
    assert probs[0, 3].argmax().item() == 1 and probs[1, 9].argmax().item() == 0


def test_head_rejects_unknown_key():
    from tadet.registry import MODELS
    with pytest.raises(TypeError, match='bogus'):
        MODELS.build(dict(type='SnippetClassificationHead', in_channels=4, num_classes=2,
                          bogus=1))


def test_fusion_clip_to_valid_is_bit_equal_on_proposals_inside_the_real_snippets():
    """Grid proposals (BMN, G-TAD) end inside the real snippets, RCL's are clamped to them:
    reading only the real snippets' probabilities (clip_to_valid, as RCL did) gives the same
    bits as reading the whole window (as the grid detectors did)."""
    from tadet.models.post_processing import grid_candidates
    g = torch.Generator().manual_seed(0)
    T, D, valid = 32, 12, 27
    probs = torch.rand(T, 4, generator=g).softmax(1)
    cand = grid_candidates(torch.rand(T, generator=g), torch.rand(T, generator=g),
                           torch.rand(D, T, generator=g), torch.rand(D, T, generator=g), valid)
    segs = torch.cat([cand['segments'], torch.rand(50, 2, generator=g).sort(1).values * valid])
    scores = torch.rand(segs.shape[0], generator=g)
    clip = TASK_UTILS.build(dict(type='ProposalClassFusion', clip_to_valid=True))
    full = TASK_UTILS.build(dict(type='ProposalClassFusion', clip_to_valid=False))
    a = clip(segs, scores, probs, valid, topk=100, score_thr=0.01)
    b = full(segs, scores, probs, valid, topk=100, score_thr=0.01)
    for k in ('segments', 'scores', 'labels'):
        assert torch.equal(a[k], b[k]), k


def test_dilated_layers_widen_the_receptive_field_and_keep_padding_out():
    torch.manual_seed(0)
    T = 96
    plain = SnippetClassificationHead(in_channels=8, num_classes=3, feat_channels=8).eval()
    wide = SnippetClassificationHead(in_channels=8, num_classes=3, feat_channels=8,
                                     num_dilated_layers=8).eval()
    assert len(wide.dilated_layers) == 8
    assert [layer.conv_dilated.dilation[0] for layer in wide.dilated_layers] == [1, 2, 4, 8] * 2
    x = torch.randn(1, 8, T)
    masks = torch.ones(1, T, dtype=torch.bool)
    x2 = x.clone()
    x2[:, :, 48] += 5.0  # a change at snippet 48
    with torch.no_grad():
        seen = [torch.nonzero((h(x2, masks) - h(x, masks)).abs().sum(1)[0] > 1e-6).flatten()
                for h in (plain, wide)]
    # k3 conv: +-1 snippet; the dilated layers add up to +-30 (1+2+4+8, twice), fewer where a
    # ReLU happens to be off
    assert (seen[0].min().item(), seen[0].max().item()) == (47, 49)
    assert 48 - 31 <= seen[1].min().item() <= 48 - 20
    assert 48 + 20 <= seen[1].max().item() <= 48 + 31
    # padded snippets must not change the real ones
    masks[:, 60:] = False
    x3 = x.clone()
    x3[:, :, 60:] = 100.0
    with torch.no_grad():
        a = wide(x, masks)[..., :60]
        b = wide(x3, masks)[..., :60]
    assert torch.equal(a, b)


def test_dilated_layers_config_errors():
    with pytest.raises(ValueError, match='in_channels must match'):
        SnippetClassificationHead(in_channels=8, num_classes=3, feat_channels=16, num_convs=0,
                                  num_dilated_layers=2)
    with pytest.raises(ValueError, match='dilations positive'):
        SnippetClassificationHead(in_channels=8, num_classes=3, feat_channels=8,
                                  num_dilated_layers=2, dilations=(0,))
