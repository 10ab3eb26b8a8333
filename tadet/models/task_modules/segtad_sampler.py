"""Neighbourhood sampling of SegTAD's proposal detection network (training)."""
from typing import Tuple

import torch

from tadet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class NeighbourhoodSampler:
    """Seeds (half positive) plus their tIoU neighbourhoods, so training graphs look like the
    inference graph around each seed.

    ``num_seeds`` seeds are drawn: up to ``pos_fraction * num_seeds`` positives (max tIoU with
    the ground truth ``> pos_iou_thr``), the rest negatives (if positives run short, negatives fill
    in, and the other way round). Then ``hops`` times, every node added last brings its
    ``num_neighbours`` highest-tIoU proposals (paper: 4 neighbours of each seed and their 4 each,
    i.e. ``hops=2``).

    Args:
        num_seeds: seeds per window (paper: 50).
        pos_fraction: fraction of positive seeds (paper: half).
        pos_iou_thr: positive seed when its max tIoU is above this.
        num_neighbours: neighbours taken per node and hop (<= the graph's neighbour count).
        hops: neighbourhood depth.
    """

    def __init__(self, num_seeds: int = 50, pos_fraction: float = 0.5, pos_iou_thr: float = 0.5,
                 num_neighbours: int = 4, hops: int = 2) -> None:
        if num_seeds < 1 or not 0 <= pos_fraction <= 1 or hops < 0 or num_neighbours < 0:
            raise ValueError('NeighbourhoodSampler: need num_seeds >= 1, 0 <= pos_fraction <= 1,'
                             ' hops >= 0, num_neighbours >= 0')
        self.num_seeds, self.pos_fraction = int(num_seeds), float(pos_fraction)
        self.pos_iou_thr = float(pos_iou_thr)
        self.num_neighbours, self.hops = int(num_neighbours), int(hops)

    def sample_seeds(self, max_tiou: torch.Tensor) -> torch.Tensor:
        """``max_tiou [N]`` -> seed indices ``[S]`` (positives first)."""
        pos = torch.nonzero(max_tiou > self.pos_iou_thr).squeeze(1)
        neg = torch.nonzero(max_tiou <= self.pos_iou_thr).squeeze(1)
        n = min(self.num_seeds, max_tiou.numel())
        n_pos = min(pos.numel(), int(round(n * self.pos_fraction)))
        n_neg = min(neg.numel(), n - n_pos)
        n_pos = min(pos.numel(), n - n_neg)  # negatives ran short: more positives
        pos = pos[torch.randperm(pos.numel(), device=pos.device)[:n_pos]]
        neg = neg[torch.randperm(neg.numel(), device=neg.device)[:n_neg]]
        return torch.cat([pos, neg])

    def __call__(self, max_tiou: torch.Tensor,
                 neighbours: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sample one window.

        Args:
            max_tiou: ``[N]`` proposals' max tIoU with the ground truth.
            neighbours: ``[N, K]`` tIoU neighbour index (highest first; -1 = none).

        Returns:
            (node indices ``[M]`` sorted ascending, unique; seed mask ``[M]`` bool).
        """
        seeds = self.sample_seeds(max_tiou)
        chosen = torch.zeros(max_tiou.numel(), dtype=torch.bool, device=max_tiou.device)
        chosen[seeds] = True
        frontier = seeds
        for _ in range(self.hops):
            nb = neighbours[frontier, :self.num_neighbours].reshape(-1)
            nb = torch.unique(nb[nb >= 0])
            frontier = nb[~chosen[nb]]
            chosen[frontier] = True
        nodes = torch.nonzero(chosen).squeeze(1)
        is_seed = torch.zeros_like(chosen)
        is_seed[seeds] = True
        return nodes, is_seed[nodes]
