"""Inputs of AFSD's boundary contrastive loss: a window in which background is put inside an
action, so that the action is split into A1 | background | A2.

Two ways (``AFSD.contrastive_mode``):

* :func:`splice_background_chunk` (``'boundary'``, the authors' ``THUMOS_Dataset.augment_``):
  an action at least twice as long as the window's shortest action ``th`` is cut at a random
  point ``t`` (at least ``th`` from both ends) and one contiguous background chunk of length
  ``th`` is *moved* there; the positions in between shift, the window keeps its length.
* :func:`splice_background_positions` (``'range'``, this toolbox's earlier variant): the
  longest action is cut at its middle and ``th`` background positions (not necessarily
  contiguous) are *inserted* there; the tail is cut to the window length.

Both return ``(spliced [B', ...], masks [B', L], segments [B', 3, 2], sources [B'])``:
the segments of A1, A2 and the background (in that order, the authors' ``new_annos``) as
``[start, end]`` window coordinates (position ``i`` covers ``[i, i + 1)``), or ``None`` when
no sample of the batch can be spliced. Time is dim 1 of each sample (``[C, L]`` features or
``[3, L, H, W]`` frames).
"""
from typing import List, Optional, Tuple

import torch

SpliceResult = Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[int]]]


def _action_positions(g: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """First position whose centre lies in each gt, and one past the last: ``[K]`` each."""
    first = torch.ceil(g[:, 0] - 0.5).long()
    last = torch.floor(g[:, 1] - 0.5).long() + 1
    return first, last


def _background(g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[L]`` bool: valid positions whose centre lies in no gt."""
    centres = torch.arange(mask.shape[0], device=g.device, dtype=torch.float32) + 0.5
    inside = ((centres[:, None] >= g[None, :, 0]) & (centres[:, None] <= g[None, :, 1])).any(1)
    return ~inside & mask


def _runs(flags: torch.Tensor) -> List[Tuple[int, int]]:
    """Maximal runs ``[start, end)`` of True in a 1-D bool tensor."""
    padded = torch.cat([flags.new_zeros(1), flags, flags.new_zeros(1)]).int()
    edges = (padded[1:] - padded[:-1]).nonzero().squeeze(1).tolist()
    return list(zip(edges[0::2], edges[1::2]))


def _randint(low: int, high: int) -> int:
    """Uniform integer in ``[low, high)`` from torch's generator (seedable in tests)."""
    return low + int(torch.randint(0, high - low, (1,)))


def _stack(inputs, masks, picks) -> SpliceResult:
    if not picks:
        return None
    src = [b for b, _, _ in picks]
    spliced = torch.stack([inputs[b].index_select(1, idx) for b, idx, _ in picks])
    smasks = torch.stack([masks[b][idx] for b, idx, _ in picks])
    segs = torch.tensor([s for _, _, s in picks], dtype=torch.float32, device=inputs.device)
    return spliced, smasks, segs, src


def splice_background_chunk(inputs: torch.Tensor, masks: torch.Tensor, gt_segs: List[torch.Tensor],
                            min_length: int = 4) -> SpliceResult:
    """The authors' splice: move one contiguous background chunk of the window's shortest
    action length ``th`` into a random cut of an action of length ``>= max(2 th,
    min_length)`` (see the module docstring). ``inputs [B, C, L, ...]``, ``masks [B, L]``,
    ``gt_segs`` per sample ``[K, 2]`` (window positions)."""
    picks = []
    pos = torch.arange(inputs.shape[2], device=inputs.device)
    for b, g in enumerate(gt_segs):
        if g.numel() == 0:
            continue
        n_valid = int(masks[b].sum())
        g = g.float().clamp(0, n_valid)
        first, last = _action_positions(g)
        th = max(int(torch.ceil((g[:, 1] - g[:, 0]).min())), 1)
        long_enough = ((last - first >= 2 * th) & (last - first >= min_length)).nonzero()
        runs = [r for r in _runs(_background(g, masks[b])) if r[1] - r[0] >= th]
        if long_enough.numel() == 0 or not runs:
            continue
        k = int(long_enough[_randint(0, long_enough.shape[0]), 0])
        s, e = int(first[k]), int(last[k])
        t = _randint(s + th, e - th + 1)  # A1 and A2 both at least th long
        r0, r1 = runs[_randint(0, len(runs))]
        c = _randint(r0, r1 - th + 1)  # the chunk [c, c + th)
        chunk = pos[c:c + th]
        if c >= e:  # background after the action: A1 | chunk | A2 | the rest, shifted right
            idx = torch.cat([pos[:t], chunk, pos[t:c], pos[c + th:]])
            segs = [[s, t], [t + th, e + th], [t, t + th]]
        else:  # background before the action: shifted left, then A1 | chunk | A2
            idx = torch.cat([pos[:c], pos[c + th:t], chunk, pos[t:]])
            segs = [[s - th, t - th], [t, e], [t - th, t]]
        picks.append((b, idx, segs))
    return _stack(inputs, masks, picks)


def splice_background_positions(inputs: torch.Tensor, masks: torch.Tensor,
                                gt_segs: List[torch.Tensor], min_length: int = 4
                                ) -> SpliceResult:
    """The earlier variant: insert ``th`` background positions (a random run of the list of
    background positions, so possibly from several gaps) at the middle of the longest action
    (if it covers ``>= min_length`` positions); the tail beyond the window is dropped."""
    length = inputs.shape[2]
    pos = torch.arange(length, device=inputs.device)
    picks = []
    for b, g in enumerate(gt_segs):
        if g.numel() == 0:
            continue
        g = g.float().clamp(0, int(masks[b].sum()))
        first, last = _action_positions(g)
        k = int((last - first).argmax())
        s, e = int(first[k]), int(last[k])
        if e - s < min_length:
            continue
        background = _background(g, masks[b]).nonzero().squeeze(1)
        th = max(int(torch.round((g[:, 1] - g[:, 0]).min())), 1)
        if background.numel() < th:
            continue
        off = _randint(0, background.numel() - th + 1)
        m = s + (e - s) // 2
        if m + th >= length:  # A2 would be cropped away
            continue
        idx = torch.cat([pos[:m], background[off:off + th], pos[m:]])[:length]
        picks.append((b, idx, [[s, m], [m + th, min(e + th, length)], [m, m + th]]))
    return _stack(inputs, masks, picks)


def range_regions(segments: torch.Tensor, unit: float) -> torch.Tensor:
    """Whole-range pooling regions (the ``'range'`` mode): ``[..., 2]`` window coordinates ->
    ``[..., 4]`` inclusive grid indices ``(lo, hi, lo, hi)`` of the cells a segment covers on a
    grid of ``unit`` window positions per cell (both halves pool the whole segment)."""
    r = segments.float() / float(unit)
    lo = r[..., 0].floor()
    hi = torch.maximum(torch.ceil(r[..., 1]) - 1, lo)
    return torch.stack([lo, hi, lo, hi], dim=-1)
