import pytest
import torch

from tadet.models.post_processing import ProposalClassFusion, proposal_class_scores


def test_proposal_class_scores_mean_inside():
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.0, 0.0]])
    segs = torch.tensor([[0.0, 2.0], [1.2, 2.5], [3.0, 3.0]])
    out = proposal_class_scores(probs, segs)
    assert out.tolist() == [[0.75, 0.25], [0.25, 0.75], [0.0, 0.0]]


def test_fusion_with_snippet_classes_and_class_agnostic():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [1.0, 0.0]])
    segs = torch.tensor([[0.0, 2.0], [2.0, 4.0]])
    scores = torch.tensor([0.5, 1.0])
    fuse = ProposalClassFusion(clip_to_valid=True)
    out = fuse(segs, scores, probs, num_valid=3, topk=2, score_thr=0.0)
    # the second proposal reads only the real snippet 2 (snippet 3 is padding)
    assert sorted(zip(out['labels'].tolist(), out['scores'].tolist()), key=lambda x: -x[1]) == [
        (1, pytest.approx(0.8)), (0, pytest.approx(0.45))]
    out = ProposalClassFusion(clip_to_valid=False)(segs, scores, probs, 3, topk=1)
    assert out['labels'].tolist() == [0] and out['scores'].tolist() == pytest.approx([0.6])
    agnostic = fuse(segs, scores, None, num_valid=3, topk=-1, score_thr=0.6)
    assert agnostic['labels'].tolist() == [0] and agnostic['scores'].tolist() == [1.0]


def test_normalized_class_scores_do_not_favour_shrunk_proposals():
    # the action's core is sure (0.9), its boundary snippets less (0.5): with the mean, a
    # proposal shrunk into the core gets a higher class score than the one that fits; normalised
    # over the classes both say "class 0" with the same weight and the proposal score decides
    probs = torch.tensor([[0.5, 0.0], [0.9, 0.0], [0.9, 0.0], [0.5, 0.0]])
    fit, core = torch.tensor([[0.0, 4.0]]), torch.tensor([[1.0, 3.0]])
    one = torch.ones(1)
    mean = ProposalClassFusion(class_scores='mean')
    assert mean(core, one, probs, 4)['scores'] > mean(fit, one, probs, 4)['scores']
    norm = ProposalClassFusion(class_scores='normalized')
    assert norm(core, one, probs, 4)["scores"].tolist() == [1.0]
    assert norm(fit, one, probs, 4)["scores"].tolist() == [1.0]
    with pytest.raises(ValueError, match='class_scores'):
        ProposalClassFusion(class_scores='max')
