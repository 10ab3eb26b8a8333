"""EdgeConv1d / knn_indices / ProposalAlign1d on hand-made cases."""
import pytest
import torch

from tadet.models.layers import EdgeConv1d, ProposalAlign1d, knn_indices
from tadet.ops import roi_align_1d
from tadet.registry import MODELS


def test_knn_indices_hand_made():
    # nodes on a line at 0, 1, 10, 11, 30: nearest neighbours are obvious
    x = torch.tensor([[0., 1., 10., 11., 30.]]).unsqueeze(0)  # [1, 1, 5]
    idx = knn_indices(x, 2)
    assert idx.shape == (1, 5, 2)
    assert idx[0, :, 0].tolist() == [0, 1, 2, 3, 4]  # itself first
    assert idx[0, :, 1].tolist() == [1, 0, 3, 2, 3]


def test_knn_indices_mask_never_chooses_masked_nodes():
    x = torch.tensor([[0., 1., 10., 11., 30.]]).unsqueeze(0)
    mask = torch.tensor([[True, False, True, True, True]])
    idx = knn_indices(x, 2, mask)
    assert not (idx == 1).any()
    assert idx[0, 0, 1].item() == 2  # 1 is masked: next nearest of node 0 is 10
    # only two real nodes and k=3: free slots repeat the node itself
    mask2 = torch.tensor([[True, True, False, False, False]])
    idx2 = knn_indices(x, 3, mask2)
    assert set(idx2[0, 0].tolist()) == {0, 1} and idx2[0, 0, 2].item() == 0
    with pytest.raises(ValueError):
        knn_indices(x, 6)


def _explicit_edge_conv(conv, x, nb, w=None):
    """Literal ``max_j relu(W [x_i, x_j - x_i])`` with the module's weights."""
    W1 = conv.self_proj.weight[:, :, 0]
    W2 = conv.diff_proj.weight[:, :, 0]
    W = torch.cat([W1, W2], 1)
    B, C, N = x.shape
    out = torch.zeros(B, W.shape[0], N)
    for b in range(B):
        for i in range(N):
            hs = []
            for kk, j in enumerate(nb[b, i].tolist()):
                j = i if j < 0 else j
                h = torch.relu(W @ torch.cat([x[b, :, i], x[b, :, j] - x[b, :, i]]) +
                               conv.self_proj.bias)
                hs.append(h * (1 if w is None else w[b, i, kk]))
            out[b, :, i] = torch.stack(hs).max(0).values
    return out


def test_edge_conv_matches_definition_dynamic_and_fixed():
    torch.manual_seed(0)
    conv = EdgeConv1d(3, 5, k=3)
    x = torch.randn(2, 3, 7)
    nb = knn_indices(x, 3)
    assert torch.allclose(conv(x), _explicit_edge_conv(conv, x, nb), atol=1e-5)
    # fixed graph with "no edge" entries and edge weights
    fixed = torch.randint(-1, 7, (2, 7, 4))
    w = torch.rand(2, 7, 4)
    out = conv(x, neighbours=fixed, edge_weights=w)
    assert torch.allclose(out, _explicit_edge_conv(conv, x, fixed, w), atol=1e-5)


def test_edge_conv_mask_and_gradients():
    torch.manual_seed(1)
    conv = EdgeConv1d(4, 6, k=2, aggregation='mean')
    x = torch.randn(1, 4, 5, requires_grad=True)
    mask = torch.tensor([[True, True, True, False, False]])
    out = conv(x, mask)
    assert out.shape == (1, 6, 5) and (out[0, :, 3:] == 0).all()
    out.sum().backward()
    # masked nodes are nobody's neighbour: no gradient reaches them
    assert (x.grad[0, :, 3:] == 0).all() and x.grad[0, :, :3].abs().sum() > 0
    with pytest.raises(ValueError):
        EdgeConv1d(4, 6, aggregation='median')
    with pytest.raises(TypeError):
        MODELS.build(dict(type='EdgeConv1d', in_channels=4, out_channels=6, kk=3))


def test_proposal_align_inner_and_context():
    x = torch.arange(20.).view(1, 1, 20)  # feature value = its index
    align = ProposalAlign1d(inner_bins=4, context_bins=2, context_ratio=0.5, aligned=True)
    props = torch.tensor([[0., 4., 12.]])
    out = align(x, props)
    assert out.shape == (1, 1, 6)
    # inner: bins of width 2 over [4, 12): centres 5, 7, 9, 11 -> values at centre - 0.5
    assert torch.allclose(out[0, 0, :4], torch.tensor([4.5, 6.5, 8.5, 10.5]))
    # context: [0, 16) in 2 bins of width 8 -> means 3.5, 11.5
    assert torch.allclose(out[0, 0, 4:], torch.tensor([3.5, 11.5]))
    ref = roi_align_1d(x, torch.tensor([[0., 2., 14.]]), 3, 0, True)
    out2 = ProposalAlign1d(3, 0, aligned=True)(x, torch.tensor([[0., 2., 14.]]))
    assert torch.allclose(out2, ref)
    with pytest.raises(ValueError):
        ProposalAlign1d(0, 2)
