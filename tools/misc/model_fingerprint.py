"""Deterministic fingerprint of a config's model, to check that a refactor changes no number.

For each config: build the model with a fixed seed, take ``--steps`` SGD steps on a fixed random
batch (ground truth with one segment carrying two labels), then predict on a fixed long input
with the config's sliding windows. The fingerprint is the initial parameters (in construction
order, names ignored), every loss of every step, the gradients' norms and the predictions.

    python tools/misc/model_fingerprint.py CONFIG [CONFIG ...] --save before.pt
    python tools/misc/model_fingerprint.py CONFIG [CONFIG ...] --compare before.pt

``--compare`` prints, per config, ``bit-equal`` or the largest difference of each part, and
exits 1 when something differs.
"""
import argparse
import sys
from typing import Dict

import torch


def fingerprint(config: str, steps: int = 2, seed: int = 0) -> Dict[str, object]:
    from mmengine.config import Config
    from mmengine.structures import InstanceData

    import tadet  # noqa: F401  (registers everything)
    from tadet.registry import MODELS
    from tadet.structures import TADDataSample

    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    params0 = [p.detach().clone() for p in model.parameters()]
    in_ch = int(cfg.get('feat_dim', 64))
    T = int(cfg.get('window_size', 128))
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(2, in_ch, T, generator=g) * 0.3
    masks = torch.ones(2, T, dtype=torch.bool)
    masks[1, T - T // 8:] = False
    gts = [([[0.1 * T, 0.3 * T], [0.45 * T, 0.47 * T], [0.6 * T, 0.85 * T]], [0, 2, 1]),
           ([[0.2 * T, 0.5 * T], [0.2 * T, 0.5 * T]], [3, 4])]

    def samples(duration_snippets):
        out = []
        for segs, labels in gts:
            s = TADDataSample()
            inst = InstanceData()
            inst.segments = torch.tensor(segs, dtype=torch.float32)
            inst.labels = torch.tensor(labels, dtype=torch.long)
            s.gt_instances = inst
            s.set_metainfo(dict(video_name='v', fps=10.0, feature_stride=1.0,
                                offset_frames=0.0, duration=duration_snippets / 10.0,
                                num_snippets=duration_snippets, window_start=0,
                                snippet_scale=1.0))
            out.append(s)
        return out

    for (segs, labels) in gts:
        for (s, e), lab in zip(segs, labels):
            x[:, lab % in_ch, int(s):int(e)] += 1.0
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    losses, grads = [], []
    model.train()
    for _ in range(steps):
        torch.manual_seed(seed + 2)
        out = model(x, masks, samples(T), mode='loss')
        total = sum(v for k, v in out.items() if 'loss' in k)
        opt.zero_grad()
        total.backward()
        grads.append(torch.stack([p.grad.norm() if p.grad is not None else torch.tensor(-1.0)
                                  for p in model.parameters()]))
        losses.append({k: float(v.detach()) for k, v in sorted(out.items())})
        opt.step()
    model.eval()
    L = 3 * T + T // 3
    xt = torch.randn(1, in_ch, L, generator=g) * 0.3
    xt[:, 1, T // 2:T] += 1.0
    mt = torch.ones(1, L, dtype=torch.bool)
    s = samples(L)[:1]
    with torch.no_grad():
        pred = model(xt, mt, s, mode='predict')[0].pred_instances
    return dict(params=params0, losses=losses, grads=grads,
                preds=dict(segments=pred.segments.clone(), scores=pred.scores.clone(),
                           labels=pred.labels.clone()))


def _diff(a, b) -> float:
    if isinstance(a, dict):
        if set(a) != set(b):
            return float('inf')
        return max([_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return float('inf')
        return max([_diff(x, y) for x, y in zip(a, b)] or [0.0])
    if torch.is_tensor(a):
        if a.shape != b.shape:
            return float('inf')
        if a.numel() == 0:
            return 0.0
        return float((a.double() - b.double()).abs().max())
    return abs(float(a) - float(b))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--save')
    p.add_argument('--compare')
    p.add_argument('--steps', type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(1)
    result = {c: fingerprint(c, args.steps) for c in args.configs}
    if args.save:
        torch.save(result, args.save)
        print(f'saved {len(result)} fingerprint(s) to {args.save}')
    bad = 0
    if args.compare:
        ref = torch.load(args.compare, weights_only=False)
        for c, fp in result.items():
            if c not in ref:
                print(f'{c}: not in {args.compare}')
                bad += 1
                continue
            parts = {k: _diff(fp[k], ref[c][k]) for k in ('params', 'losses', 'grads', 'preds')}
            if all(v == 0 for v in parts.values()):
                print(f'{c}: bit-equal')
            else:
                bad += 1
                print(f'{c}: differs ' + ', '.join(f'{k} {v:.3g}' for k, v in parts.items()))
                print(f'   losses now {fp["losses"][0]}\n   losses ref {ref[c]["losses"][0]}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
