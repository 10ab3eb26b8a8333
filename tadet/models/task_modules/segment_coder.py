"""Segment coders: anchors + regression deltas <-> segments."""
import math

import torch

from tadet.registry import TASK_UTILS

from .tiou import segment_cw_to_se, segment_se_to_cw


@TASK_UTILS.register_module()
class DeltaCWSegmentCoder:
    """(centre, width) deltas relative to an anchor (SSD / A2Net style).

    ``dc = (c_g - c_a) / (center_scale * w_a)``, ``dw = log(w_g / w_a) / width_scale``;
    decoding inverts it: ``c = c_a + center_scale * dc * w_a``, ``w = w_a * exp(width_scale * dw)``.
    A2Net uses 0.1 for both ("variances").

    Args:
        center_scale / width_scale: the two scaling factors.
        max_width_delta: ``|width_scale * dw|`` is clamped to this before ``exp`` at decoding
            (an untrained head must not overflow).
    """

    def __init__(self, center_scale: float = 0.1, width_scale: float = 0.1,
                 max_width_delta: float = math.log(1000.0)) -> None:
        if center_scale <= 0 or width_scale <= 0:
            raise ValueError('DeltaCWSegmentCoder scales must be positive')
        self.center_scale = float(center_scale)
        self.width_scale = float(width_scale)
        self.max_width_delta = float(max_width_delta)

    def encode(self, anchors: torch.Tensor, gt_segments: torch.Tensor) -> torch.Tensor:
        """``anchors [N, 2]``, ``gt_segments [N, 2]`` (start, end) -> deltas ``[N, 2]``."""
        a = segment_se_to_cw(anchors.float())
        g = segment_se_to_cw(gt_segments.float())
        dc = (g[:, 0] - a[:, 0]) / (self.center_scale * a[:, 1])
        dw = torch.log(g[:, 1].clamp(min=1e-6) / a[:, 1]) / self.width_scale
        return torch.stack([dc, dw], dim=-1)

    def decode(self, anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
        """``anchors [..., 2]`` (start, end), ``deltas [..., 2]`` -> segments ``[..., 2]``."""
        a = segment_se_to_cw(anchors.to(deltas.dtype))
        c = a[..., 0] + self.center_scale * deltas[..., 0] * a[..., 1]
        dw = (self.width_scale * deltas[..., 1]).clamp(-self.max_width_delta,
                                                        self.max_width_delta)
        w = a[..., 1] * torch.exp(dw)
        return segment_cw_to_se(torch.stack([c, w], dim=-1))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(center_scale={self.center_scale}, '
                f'width_scale={self.width_scale})')
