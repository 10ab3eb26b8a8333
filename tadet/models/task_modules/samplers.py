"""Select the positive / negative priors that enter the classification loss."""
from typing import Optional, Tuple

import torch

from tadet.registry import TASK_UTILS

from .assigners import SegmentAssignResult


@TASK_UTILS.register_module()
class HardNegativeSampler:
    """All positives and ``neg_pos_ratio`` times as many negatives, the hardest first.

    Args:
        neg_pos_ratio: negatives per positive (A2Net: 1, i.e. 1:1).
        min_neg: negatives taken even when a window has no positive (so background is still
            learned from windows without action).
        hard_fraction: share of the negatives taken by hardness (highest score first); the rest
            are drawn at random from the remaining negatives (1.0 = pure hard mining).
        max_pos: cap on positives (random subset); -1 keeps all.

    Per window; the head passes each prior's classification loss against background as its
    hardness (``hardness_key``). A2Net's earlier (non-authors') sampling; the authors' is
    :class:`OverlapHardNegativeSampler`.
    """

    hardness_key = 'bg_loss'
    batch_level = False

    def __init__(self, neg_pos_ratio: float = 1.0, min_neg: int = 0, hard_fraction: float = 1.0,
                 max_pos: int = -1) -> None:
        if neg_pos_ratio < 0 or not 0.0 <= hard_fraction <= 1.0 or min_neg < 0:
            raise ValueError('HardNegativeSampler: neg_pos_ratio >= 0, min_neg >= 0 and '
                             '0 <= hard_fraction <= 1 required')
        self.neg_pos_ratio = float(neg_pos_ratio)
        self.min_neg = int(min_neg)
        self.hard_fraction = float(hard_fraction)
        self.max_pos = int(max_pos)

    def sample(self, assign_result: SegmentAssignResult,
               neg_hardness: Optional[torch.Tensor] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            assign_result: from an assigner (``gt_inds``: -1 ignore, 0 neg, >0 pos).
            neg_hardness: ``[N]`` how hard each prior is as a negative (e.g. its
                classification loss against background, or 1 - p(background)); ``None`` =
                random negatives.
        Returns:
            ``pos_inds [P]``, ``neg_inds [Q]`` (long indices into the priors).
        """
        pos_inds = torch.nonzero(assign_result.pos_mask).squeeze(1)
        neg_inds = torch.nonzero(assign_result.neg_mask).squeeze(1)
        if 0 <= self.max_pos < pos_inds.numel():
            pos_inds = pos_inds[torch.randperm(pos_inds.numel(), device=pos_inds.device)
                                [:self.max_pos]]
        num_neg = max(int(round(self.neg_pos_ratio * pos_inds.numel())), self.min_neg)
        num_neg = min(num_neg, neg_inds.numel())
        if num_neg == neg_inds.numel():
            return pos_inds, neg_inds
        num_hard = num_neg if neg_hardness is None else int(round(num_neg * self.hard_fraction))
        if neg_hardness is None:
            num_hard = 0
        chosen = neg_inds.new_zeros(0)
        rest = neg_inds
        if num_hard > 0:
            order = neg_hardness.detach()[neg_inds].argsort(descending=True, stable=True)
            chosen = neg_inds[order[:num_hard]]
            rest = neg_inds[order[num_hard:]]
        num_rand = num_neg - chosen.numel()
        if num_rand > 0:
            rest = rest[torch.randperm(rest.numel(), device=rest.device)[:num_rand]]
            chosen = torch.cat([chosen, rest])
        return pos_inds, chosen.sort().values

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(neg_pos_ratio={self.neg_pos_ratio}, '
                f'min_neg={self.min_neg}, hard_fraction={self.hard_fraction})')


@TASK_UTILS.register_module()
class OverlapHardNegativeSampler:
    """A2Net authors' sampling (``lib/core/loss.py``), over the whole batch at once.

    Samples = all positives, all *hard* negatives (negatives whose predicted overlap is above
    ``hard_thr``) and ``easy_pos_ratio`` easy negatives per positive drawn at random from the
    remaining negatives. Without any positive in the batch, ``no_pos_easy_fraction`` of the
    easy negatives are drawn (the authors: half).

    Args:
        hard_thr: predicted overlap above which a negative is hard (0.5).
        easy_pos_ratio: random easy negatives per positive (1.0, i.e. 1:1).
        no_pos_easy_fraction: share of the easy negatives drawn when there is no positive.
    """

    #: the head passes the predicted overlap (in [0, 1]) as the hardness of each prior
    hardness_key = 'overlap'
    #: the head samples over all windows and levels of the batch at once
    batch_level = True

    def __init__(self, hard_thr: float = 0.5, easy_pos_ratio: float = 1.0,
                 no_pos_easy_fraction: float = 0.5) -> None:
        if easy_pos_ratio < 0 or not 0.0 <= no_pos_easy_fraction <= 1.0:
            raise ValueError('OverlapHardNegativeSampler: easy_pos_ratio >= 0 and '
                             '0 <= no_pos_easy_fraction <= 1 required')
        self.hard_thr = float(hard_thr)
        self.easy_pos_ratio = float(easy_pos_ratio)
        self.no_pos_easy_fraction = float(no_pos_easy_fraction)

    def sample(self, assign_result: SegmentAssignResult, pred_overlap: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            assign_result: ``gt_inds [N]`` (-1 ignore, 0 negative, > 0 positive).
            pred_overlap: ``[N]`` predicted overlap in [0, 1] (detached here).
        Returns:
            ``pos_inds [P]``, ``neg_inds [Q]`` (hard and easy negatives, sorted).
        """
        pos_inds = torch.nonzero(assign_result.pos_mask).squeeze(1)
        neg = assign_result.neg_mask
        hard = neg & (pred_overlap.detach() > self.hard_thr)
        easy = torch.nonzero(neg & ~hard).squeeze(1)
        if pos_inds.numel():
            num_easy = int(round(self.easy_pos_ratio * pos_inds.numel()))
        else:
            num_easy = int(round(self.no_pos_easy_fraction * easy.numel()))
        num_easy = min(num_easy, easy.numel())
        easy = easy[torch.randperm(easy.numel(), device=easy.device)[:num_easy]]
        neg_inds = torch.cat([torch.nonzero(hard).squeeze(1), easy]).sort().values
        return pos_inds, neg_inds

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(hard_thr={self.hard_thr}, '
                f'easy_pos_ratio={self.easy_pos_ratio}, '
                f'no_pos_easy_fraction={self.no_pos_easy_fraction})')
