"""Training hooks that make runs reproducible and fail loudly.

- :class:`EpochSeedHook` re-seeds every RNG at the start of each epoch from (seed, epoch), so a
  run resumed from an epoch checkpoint draws the same random numbers (dropout, samplers inside
  heads, random transforms in the main process) as an uninterrupted one.
- :class:`FiniteLossHook` stops training at the first non-finite loss term, naming the
  iteration and the term.
"""
import math
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from tadet.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed ``random``, numpy and torch with ``seed + epoch`` before every training epoch.

    Uses the runner's seed (``randomness.seed``, already offset per rank when
    ``diff_rank_seed`` is set). Dataloader workers created for the epoch draw their base seed
    from the re-seeded torch RNG, so they are reproducible too unless ``persistent_workers``
    keeps them alive across epochs (then a resumed run's workers restart their streams).
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        seed = runner.seed
        if seed is None:
            return
        epoch_seed = (int(seed) + 1_000_003 * int(runner.epoch)) % (2**31)
        random.seed(epoch_seed)
        np.random.seed(epoch_seed)
        torch.manual_seed(epoch_seed)


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when any logged loss term is NaN / inf.

    Args:
        interval: check every ``interval`` iterations (1 = every iteration; the check reads
            values already computed for logging, so it costs nothing measurable).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError('FiniteLossHook: interval must be >= 1')
        self.interval = int(interval)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = {}
        for name, value in outputs.items():
            v = float(value.detach().float().mean()) if torch.is_tensor(value) else value
            if isinstance(v, (int, float)) and not math.isfinite(v):
                bad[name] = v
        if bad:
            # name the individual terms first; 'loss' is only their sum
            terms = sorted(bad, key=lambda k: (k == 'loss', k))
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
                + ', '.join(f'{k}={bad[k]}' for k in terms)
                + '. Fix: lower the learning rate (optim_wrapper.optimizer.lr) or add gradient '
                'clipping (optim_wrapper.clip_grad=dict(max_norm=...)); check the features '
                'for extreme values; resume from the last good checkpoint with --resume.')
