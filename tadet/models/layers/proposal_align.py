"""Proposal features on a temporal feature map: inner bins + context bins (G-TAD's SGAlign,
SegTAD's proposal feature extractor), built on :func:`tadet.ops.roi_align_1d`."""
import torch
import torch.nn as nn

from tadet.ops import roi_align_1d
from tadet.registry import MODELS


@MODELS.register_module()
class ProposalAlign1d(nn.Module):
    """``x [B, C, T]``, proposals ``[N, 3]`` (batch index, start, end) -> ``[N, C, inner_bins +
    context_bins]``.

    The first ``inner_bins`` columns are the 1D RoIAlign of ``[start, end]``; the last
    ``context_bins`` are the RoIAlign of the segment extended by ``context_ratio * (end - start)``
    on both sides (``context_bins=0``: no context part).

    Args:
        inner_bins: bins over the proposal itself (>= 1).
        context_bins: bins over the extended proposal (>= 0).
        context_ratio: extension on each side, as a fraction of the proposal length.
        sampling_ratio: samples per bin (0 = adaptive ``ceil(len / bins)``), see the op.
        aligned: ``True`` (default) = feature ``i`` sits at snippet centre ``i + 0.5``, the
            geometry of ``tadet.structures``; ``False`` = at ``i``.
        impl: op implementation (``'auto'``, ``'cpu'`` compiled, ``'reference'``, ...).
    """

    def __init__(self, inner_bins: int = 16, context_bins: int = 8, context_ratio: float = 0.5,
                 sampling_ratio: int = 0, aligned: bool = True, impl: str = 'auto') -> None:
        super().__init__()
        if inner_bins < 1 or context_bins < 0:
            raise ValueError(f'ProposalAlign1d: need inner_bins >= 1 and context_bins >= 0, '
                             f'got {inner_bins}, {context_bins}')
        if context_ratio < 0:
            raise ValueError(f'ProposalAlign1d: context_ratio must be >= 0, got {context_ratio}')
        self.inner_bins, self.context_bins = int(inner_bins), int(context_bins)
        self.context_ratio = float(context_ratio)
        self.sampling_ratio, self.aligned, self.impl = int(sampling_ratio), bool(aligned), impl

    @property
    def num_bins(self) -> int:
        return self.inner_bins + self.context_bins

    def forward(self, x: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        """``x [B, C, T]``, ``proposals [N, 3]`` -> ``[N, C, inner_bins + context_bins]``."""
        if proposals.dim() != 2 or proposals.shape[-1] != 3:
            raise ValueError(f'ProposalAlign1d: proposals must be [N, 3], '
                             f'got {tuple(proposals.shape)}')
        rois = proposals.to(x.dtype)
        inner = roi_align_1d(x, rois, self.inner_bins, self.sampling_ratio, self.aligned,
                             impl=self.impl)
        if self.context_bins == 0:
            return inner
        ext = (rois[:, 2] - rois[:, 1]) * self.context_ratio
        ctx_rois = torch.stack([rois[:, 0], rois[:, 1] - ext, rois[:, 2] + ext], dim=1)
        context = roi_align_1d(x, ctx_rois, self.context_bins, self.sampling_ratio,
                               self.aligned, impl=self.impl)
        return torch.cat([inner, context], dim=-1)
