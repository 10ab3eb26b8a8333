"""SegTAD's sparse proposals and the proposal graph linked by tIoU."""
from typing import Optional, Tuple

import torch

from tadet.registry import TASK_UTILS

from .tiou import segment_tiou


@TASK_UTILS.register_module()
class SparseProposalGenerator:
    """All proposals ``[i, i + j]`` with ``i % step == 0`` and ``j % step == 0`` (SegTAD's PDN).

    Proposals cover the valid part of a window: starts ``i < L``, ends ``i + j <=
    ceil(L / step) * step`` clipped to ``L`` (so the last action of a window whose length is not a
    multiple of ``step`` can still be matched).

    Args:
        step: start and length step in snippets (paper: 8).
        max_length: longest proposal in snippets (``None``: the window).
        min_length: shortest proposal (``None``: ``step``); rounded up to a multiple of ``step``.
    """

    def __init__(self, step: int = 8, max_length: Optional[float] = None,
                 min_length: Optional[float] = None) -> None:
        if step < 1:
            raise ValueError(f'SparseProposalGenerator: step must be >= 1, got {step}')
        self.step = int(step)
        self.max_length = None if max_length is None else float(max_length)
        self.min_length = float(step if min_length is None else min_length)
        if self.max_length is not None and self.max_length < self.min_length:
            raise ValueError('SparseProposalGenerator: max_length < min_length')

    def num_proposals(self, valid_length: int) -> int:
        return int(self(valid_length).shape[0])

    def __call__(self, valid_length: int, device=None) -> torch.Tensor:
        """Proposals of a window with ``valid_length`` real snippets -> ``[N, 2]`` (start, end),
        ordered by start then length."""
        L = int(valid_length)
        if L <= 0:
            return torch.zeros((0, 2), device=device)
        s = self.step
        top = -(-L // s) * s
        starts = torch.arange(0, L, s, device=device, dtype=torch.float32)
        lengths = torch.arange(s, top + 1, s, device=device, dtype=torch.float32)
        keep_len = lengths >= self.min_length - 1e-6
        if self.max_length is not None:
            keep_len &= lengths <= self.max_length + 1e-6
        lengths = lengths[keep_len]
        st = starts[:, None].expand(-1, lengths.numel())
        en = st + lengths[None]
        valid = en <= top
        props = torch.stack([st[valid], en[valid].clamp(max=float(L))], dim=1)
        return props


def tiou_neighbours(proposals: torch.Tensor, k: int,
                    chunk: int = 2048) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` proposals of highest tIoU with each proposal (itself excluded).

    Computed in row chunks so ``N x N`` tIoU never exists at once for long videos.

    Args:
        proposals: ``[N, 2]``.
        k: neighbours per proposal.

    Returns:
        (index ``[N, k]`` with -1 where fewer than ``k`` proposals overlap, tIoU ``[N, k]``),
        highest tIoU first.
    """
    N = proposals.shape[0]
    kk = min(k, max(N - 1, 0))
    idx = torch.full((N, k), -1, dtype=torch.long, device=proposals.device)
    val = proposals.new_zeros((N, k))
    if kk == 0:
        return idx, val
    for r0 in range(0, N, chunk):
        rows = torch.arange(r0, min(N, r0 + chunk), device=proposals.device)
        t = segment_tiou(proposals[rows], proposals)
        t[torch.arange(rows.numel(), device=t.device), rows] = -1.0  # no self edge
        v, i = t.topk(kk, dim=1)
        idx[rows, :kk] = torch.where(v > 0, i, torch.full_like(i, -1))
        val[rows, :kk] = v.clamp(min=0)
    return idx, val
