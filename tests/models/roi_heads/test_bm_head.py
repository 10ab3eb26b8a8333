"""BMHead (boundary-matching head): grid tIoU targets, stratified weights, sampling weights,
the fused BM layer equals the dense one."""
import warnings

import pytest
import torch

import tadet.models  # noqa: F401
from tadet.registry import MODELS

pytestmark = pytest.mark.usefixtures('single_thread')


def test_grid_tiou_targets_hand_made():
    from tadet.models.task_modules.grid_targets import (grid_segments, grid_tiou_targets,
                                                        grid_valid_mask)
    segs, valid = grid_segments(8, 4)
    # cell (d, s) = [s, s + d + 1]
    assert segs[2, 3].tolist() == [3.0, 6.0] and bool(valid[2, 3])
    assert not bool(valid[3, 5]) and bool(valid[3, 4])  # [5, 9] leaves the window, [4, 8] not
    tiou = grid_tiou_targets(torch.tensor([[2.0, 5.0], [6.0, 7.0]]), 8, 4)
    assert tiou[2, 2] == 1.0 and tiou[0, 6] == 1.0     # exact cells
    assert tiou[1, 2] == pytest.approx(2 / 3)          # [2, 4] vs [2, 5]
    assert tiou[3, 2] == pytest.approx(3 / 4)          # [2, 6] vs [2, 5]
    assert tiou[1, 5] == pytest.approx(1 / 2)          # [5, 7] vs [6, 7]
    assert tiou[0, 0] == 0.0
    assert grid_tiou_targets(torch.zeros(0, 2), 8, 4).abs().sum() == 0
    masks = torch.ones(2, 8, dtype=torch.bool)
    masks[1, 6:] = False
    vm = grid_valid_mask(masks, 4)
    assert bool(vm[0, 0, 7]) and not bool(vm[1, 0, 6]) and bool(vm[1, 1, 4])
    assert not bool(vm[1, 1, 5])  # [5, 7] ends in the padding


def test_grid_max_duration_bounds_the_longest_proposal():
    """An action longer than D has no exact cell (best tIoU D / length); with D = T (the
    synth configs' D = 128 in 128-snippet windows) every action inside the window has one."""
    from tadet.models.task_modules.grid_targets import grid_tiou_targets
    gt = torch.tensor([[1.0, 13.0]])  # 12 snippets in a 16-snippet window
    assert grid_tiou_targets(gt, 16, 8).max() == pytest.approx(8 / 12)
    full = grid_tiou_targets(gt, 16, 16)
    assert full.max() == 1.0 and full[11, 1] == 1.0  # cell (d = 11, s = 1) = [1, 13]


def test_stratified_weights_balance_bands():
    from tadet.models.task_modules.grid_targets import tiou_stratified_weights
    tiou = torch.cat([torch.full((50,), 0.9), torch.full((500,), 0.5), torch.zeros(5000)])
    valid = torch.ones_like(tiou, dtype=torch.bool)
    valid[-100:] = False
    g = torch.Generator().manual_seed(0)
    w = tiou_stratified_weights(tiou, valid, generator=g)
    assert (w[:50] == 1).all()                      # every high cell
    assert 25 <= w[50:550].sum() <= 80               # ~50 medium
    assert 25 <= w[550:].sum() <= 80                 # ~50 low
    assert w[-100:].sum() == 0                       # never an invalid cell


def test_bm_sampling_weights_shape_and_normalisation():
    from tadet.models.roi_heads.bm_head import bm_sampling_weights
    T, D, N = 16, 6, 4
    w = bm_sampling_weights(T, D, N, 3, 0.5)
    assert w.shape == (D, T, N, T)
    segs_end = torch.arange(T)[None] + torch.arange(1, D + 1)[:, None]
    assert w[segs_end > T].abs().sum() == 0          # cells leaving the window are empty
    # a cell whose extended span lies inside the window: each bin's weights sum to 1
    torch.testing.assert_close(w[1, 6].sum(-1), torch.ones(N, dtype=torch.float64))
    # cell [6, 8] extended to [5, 9]: 4 bins of one snippet each; bin n covers snippet 5 + n
    # (snippet i sits at i + 0.5), so its interpolation weights are centred on that snippet
    # and reach only its two neighbours
    centroid = (w[1, 6] * torch.arange(T, dtype=torch.float64)).sum(-1)
    torch.testing.assert_close(centroid, torch.arange(5, 9, dtype=torch.float64))
    assert w[1, 6, 0, 4] > 0 and w[1, 6, 0, :4].sum() == 0 and w[1, 6, 0, 7:].sum() == 0
    assert (w[1, 6, :, 5:9].diagonal() > 0.7).all()
    # at the window start the extension falls outside: zero padding, so less than 1
    assert w[3, 0, 0].sum() < 0.5 and w[3, 0, -1].sum() == pytest.approx(1.0)


def test_bm_head_fused_equals_dense_bm_layer_and_is_cached():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='BMHead', in_channels=8, max_duration=6, feat_channels=8,
                             num_samples=4, bm_channels=12, map_channels=8,
                             tem_head=dict(type='TEMHead', in_channels=8,
                                           feat_channels=8))).double()
    x = torch.randn(2, 8, 16, dtype=torch.float64)
    dense = head.bm_feature_map(x)
    assert dense.shape == (2, 8, 4, 6, 16)
    ref = head.bm_conv(dense).squeeze(2)
    torch.testing.assert_close(head.bm_features(x), ref)
    mat = head.sampling_matrix(16, x.device, x.dtype)
    assert head.sampling_matrix(16, x.device, x.dtype) is mat and len(head._cache) == 1
    maps = head.forward_maps(x)
    assert maps.shape == (2, 2, 6, 16) and ((maps > 0) & (maps < 1)).all()
    out = head(x)  # the head's forward: its TEM + the maps
    assert set(out) == {'start', 'end', 'maps'} and out['start'].shape == (2, 16)
    torch.testing.assert_close(out['maps'], maps)
    # FLOPs counters trace the model: the traced (dense, published) BM layer gives the same maps
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer warnings about Python-side sizes
        traced = torch.jit.trace(head, (x,), check_trace=False, strict=False)
    torch.testing.assert_close(traced(x)['maps'], maps)
