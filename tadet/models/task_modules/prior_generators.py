"""1D prior generators: anchors (segments) and points at the centres of a feature pyramid.

Coordinate convention (the whole toolbox): snippet ``i`` covers ``[i, i + 1)``; a window of
``L`` input snippets spans ``[0, L]``. Position ``i`` of a pyramid level with ``T_l`` positions
has stride ``s_l = L / T_l`` and centre ``(i + 0.5) * s_l``.
"""
from typing import List, Sequence, Union

import torch

from tadet.registry import TASK_UTILS


def level_centres(length: int, stride: float, device=None) -> torch.Tensor:
    """``[length]`` centres ``(i + 0.5) * stride`` of one pyramid level."""
    return (torch.arange(length, device=device, dtype=torch.float32) + 0.5) * stride


def prior_valid_mask(priors: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``priors [N, 2]`` (start, end) or ``[N]`` centres, ``masks [B, L]`` -> ``[B, N]`` bool:
    a prior is valid when the snippet holding its centre is a real (unpadded) snippet."""
    centres = priors.mean(-1) if priors.dim() == 2 else priors
    idx = centres.floor().long().clamp(0, masks.shape[-1] - 1)
    return masks[:, idx]


@TASK_UTILS.register_module()
class AnchorGenerator1d:
    """Multi-scale 1D anchors centred on every pyramid position.

    Args:
        scales: anchor widths in units of the level stride (A2Net: 0.5, 0.75, 1, 1.5, 2); either
            one sequence for all levels or one sequence per level (same length for each level).

    Anchors of a level are ordered position-major (``index = i * A + a``), which is the order a
    head gets by reshaping its ``[B, A * K, T_l]`` output to ``[B, T_l * A, K]`` (see
    :meth:`flatten_head_output`).
    """

    def __init__(self, scales: Sequence[Union[float, Sequence[float]]] = (0.5, 0.75, 1.0, 1.5,
                                                                          2.0)) -> None:
        scales = list(scales)
        if not scales:
            raise ValueError('AnchorGenerator1d needs at least one scale')
        self.per_level = isinstance(scales[0], (list, tuple))
        if self.per_level:
            if len({len(s) for s in scales}) != 1:
                raise ValueError('per-level anchor scales must have the same count on every level')
            self.scales = [[float(x) for x in s] for s in scales]
        else:
            self.scales = [float(x) for x in scales]

    @property
    def num_base_anchors(self) -> int:
        """Anchors per position (A)."""
        return len(self.scales[0]) if self.per_level else len(self.scales)

    def level_scales(self, level: int) -> List[float]:
        return self.scales[level] if self.per_level else self.scales

    def grid_anchors(self, level_lengths: Sequence[int], window_length: float,
                     device=None) -> List[torch.Tensor]:
        """Anchors of every level.

        Args:
            level_lengths: positions per level ``T_l``.
            window_length: ``L``, the input length in snippets.
        Returns:
            per level ``[T_l * A, 2]`` (start, end) in window snippets.
        """
        if self.per_level and len(level_lengths) != len(self.scales):
            raise ValueError(f'{len(level_lengths)} levels but {len(self.scales)} per-level '
                             f'anchor scale sets')
        out = []
        for lvl, t in enumerate(level_lengths):
            stride = float(window_length) / t
            centres = level_centres(t, stride, device)  # [T]
            widths = torch.tensor(self.level_scales(lvl), device=device) * stride  # [A]
            c = centres[:, None].expand(-1, len(widths))
            w = widths[None, :].expand(t, -1)
            out.append(torch.stack([c - w / 2, c + w / 2], dim=-1).reshape(-1, 2))
        return out

    @staticmethod
    def flatten_head_output(x: torch.Tensor, num_anchors: int) -> torch.Tensor:
        """``[B, A * K, T]`` -> ``[B, T * A, K]`` in the anchor order of :meth:`grid_anchors`."""
        b, ak, t = x.shape
        return x.reshape(b, num_anchors, ak // num_anchors, t).permute(0, 3, 1, 2).reshape(
            b, t * num_anchors, ak // num_anchors)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scales={self.scales})'


@TASK_UTILS.register_module()
class PointGenerator1d:
    """Points (one per pyramid position) for anchor-free heads.

    Args:
        regress_ranges: per level ``(low, high)``: the ground-truth lengths (window snippets)
            the level is responsible for (``low <= length < high``); ``None`` = no assignment
            ranges (the generator still gives points and strides).
    """

    def __init__(self, regress_ranges: Union[Sequence[Sequence[float]], None] = None) -> None:
        self.regress_ranges = None if regress_ranges is None else [
            (float(lo), float(hi)) for lo, hi in regress_ranges]
        if self.regress_ranges is not None:
            for lo, hi in self.regress_ranges:
                if not lo < hi:
                    raise ValueError(f'regress range ({lo}, {hi}) is empty')

    def grid_points(self, level_lengths: Sequence[int], window_length: float,
                    device=None) -> List[torch.Tensor]:
        """Per level ``[T_l, 2]``: (centre, stride) in window snippets."""
        out = []
        for t in level_lengths:
            stride = float(window_length) / t
            c = level_centres(t, stride, device)
            out.append(torch.stack([c, torch.full_like(c, stride)], dim=-1))
        return out

    def level_ranges(self, num_levels: int, device=None) -> List[torch.Tensor]:
        """Per level ``[2]`` (low, high) length range; raises if the counts disagree."""
        if self.regress_ranges is None:
            raise ValueError('PointGenerator1d has no regress_ranges')
        if len(self.regress_ranges) != num_levels:
            raise ValueError(f'{num_levels} pyramid levels but {len(self.regress_ranges)} '
                             f'regress_ranges')
        return [torch.tensor(r, device=device) for r in self.regress_ranges]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(regress_ranges={self.regress_ranges})'
