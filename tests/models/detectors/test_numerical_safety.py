"""Every detector's losses and gradients stay finite on degenerate windows (issue 9): no
ground truth, a single-snippet action, an action covering the whole window, an extremely long
action next to a short one, and a window that is mostly padding."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import tadet.models  # noqa: F401
from tadet.registry import MODELS

from tadet_testing import REPO, make_data_samples

ABLATION = ('_no_', '_only', 'mean_pool')
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '*', '*_thumos14_synth.py'))
                 if not any(a in osp.basename(p) for a in ABLATION)
                 and osp.basename(osp.dirname(p)) not in ('benchmark', 'tutorials'))
T = 128
CASES = {
    'all_background': [],
    'single_snippet_action': [(40.0, 41.0, 3)],
    'whole_window_action': [(0.0, 128.0, 5)],
    'long_and_short_actions': [(1.0, 127.0, 2), (60.0, 61.5, 7)],
    'action_at_padding_edge': [(20.0, 32.0, 1)],
}
pytestmark = pytest.mark.usefixtures('single_thread')


def samples(gts, n=2):
    """n windows of T snippets with the same (start, end, label) triples (odd geometry)."""
    segs, labels = [[a, b] for a, b, _ in gts], [c for _, _, c in gts]
    return make_data_samples([(segs, labels)] * n, T, fps=7.5, feature_stride=4.0,
                             offset_frames=8.0, duration=None)


def test_every_detector_is_covered():
    names = {osp.basename(p).split('_thumos14')[0] for p in CONFIGS}
    assert {'a2net', 'afsd'} <= names, names


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_losses_and_grads_finite_on_degenerate_windows(config):
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    feat_dim = cfg.get('feat_dim', 64)
    for name, gts in CASES.items():
        x = torch.randn(2, feat_dim, T)
        masks = torch.ones(2, T, dtype=torch.bool)
        if name == 'action_at_padding_edge':
            masks[:, 32:] = False  # a short video padded to the window
            x[:, :, 32:] = 0
        losses = model(x, masks, samples(gts), mode='loss')
        total = 0
        for k, v in losses.items():
            if 'loss' in k:
                assert torch.isfinite(v).all(), f'{name}: {k}={v}'
                total = total + v.sum()
        model.zero_grad()
        total.backward()
        for pname, p in model.named_parameters():
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), f'{name}: grad of {pname}'


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_bf16_autocast_train_step_and_predict_on_cpu(config):
    """What ``--amp`` does on a CPU machine (CPUAutocastOptimWrapper): runs and stays finite."""
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    feat_dim = cfg.get('feat_dim', 64)
    x = torch.randn(2, feat_dim, T)
    masks = torch.ones(2, T, dtype=torch.bool)
    gts = CASES['long_and_short_actions']
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(x, masks, samples(gts), mode='loss')
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x[:1], masks[:1], samples(gts, 1), mode='predict')[0].pred_instances
    # (an untrained model may score everything below the threshold: only finiteness is asserted)
    assert torch.isfinite(out.scores.float()).all() and torch.isfinite(out.segments).all()


@pytest.mark.cuda
@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_fp16_amp_train_steps_and_predict_on_cuda(config):
    """What ``--amp`` does on a GPU (mmengine AmpOptimWrapper: fp16 autocast + dynamic loss
    scale), for every detector: a few optimizer steps stay finite and change the weights, and
    predict under autocast gives finite detections."""
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    from mmengine.optim import AmpOptimWrapper
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).cuda()
    feat_dim = cfg.get('feat_dim', 64)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
                              loss_scale='dynamic')
    x = torch.randn(2, feat_dim, T, device='cuda')
    masks = torch.ones(2, T, dtype=torch.bool, device='cuda')
    gts = CASES['long_and_short_actions']
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()
    for _ in range(3):
        with wrapper.optim_context(model):
            losses = model(x, masks, samples(gts), mode='loss')
        total = sum(v.sum() for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total), {k: float(v) for k, v in losses.items()}
        wrapper.update_params(total)
    changed = [k for k, v in model.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, 'no parameter was updated (every step skipped by the loss scaler?)'
    model.eval()
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.float16):
        out = model(x[:1], masks[:1], samples(gts, 1), mode='predict')[0].pred_instances
    assert torch.isfinite(out.scores.float()).all() and torch.isfinite(out.segments).all()
