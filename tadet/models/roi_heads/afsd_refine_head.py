"""AFSD's saliency-based refinement network: boundary pooling of the coarse proposals on the
pyramid level (level units) and on the frame-level feature (frame units); the second stage of
:class:`AFSDHead` (which owns its targets, losses and decoding)."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d, boundary_mean_pool_1d
from tadet.registry import MODELS

POOLINGS = ('boundary_max', 'mean')


def afsd_boundary_regions(segments: torch.Tensor, unit: float, inner_ratio: float = 0.25,
                          outer_ratio: float = 0.1, min_ext: float = 1.0) -> torch.Tensor:
    """Start / end regions of proposals as grid indices for boundary pooling.

    Args:
        segments: ``[..., 2]`` (start, end) in window snippets.
        unit: window snippets per grid cell (cell ``i`` covers ``[i, i+1) * unit``, index ``i``
            sits at its centre).
    Returns:
        ``[..., 4]`` = rounded (start - out, start + in, end - in, end + out) in index
        coordinates, ``in = max(inner_ratio * w, min_ext)``, ``out = max(outer_ratio * w,
        min_ext)``, ``w`` the proposal length in cells (AFSD: 1/4 inwards, 1/10 outwards).
    """
    seg = segments.detach().float() / float(unit) - 0.5
    s, e = seg[..., 0], seg[..., 1]
    w = (e - s).clamp(min=0)
    ext_in = (w * inner_ratio).clamp(min=min_ext)
    ext_out = (w * outer_ratio).clamp(min=min_ext)
    return torch.round(torch.stack([s - ext_out, s + ext_in, e - ext_in, e + ext_out], dim=-1))


class _ProposalBranch(nn.Module):
    """point (1x1) | boundary-pooled start/end halves (1x1 to 2F, pooled) | frame-level pooled
    (1x1) -> concat -> 1x1 to F."""

    def __init__(self, in_channels: int, frame_channels: int, feat_channels: int,
                 norm_cfg: Optional[dict]) -> None:
        super().__init__()
        self.point_conv = ConvBlock1d(in_channels, feat_channels, 1, norm_cfg=norm_cfg)
        self.boundary_conv = ConvBlock1d(in_channels, 2 * feat_channels, 1, norm_cfg=norm_cfg)
        self.frame_conv = ConvBlock1d(frame_channels, feat_channels, 1, norm_cfg=norm_cfg)
        self.fuse = ConvBlock1d(4 * feat_channels, feat_channels, 1, norm_cfg=norm_cfg)

    def forward(self, level_feat, frame_pooled, level_regions, pool):
        """-> (proposal feature ``[B, F, T_l]``, start/end boundary feature ``[B, 2F, T_l]``
        before pooling: the one the authors' BCL also reads on level 0)."""
        point = self.point_conv(level_feat)
        boundary = self.boundary_conv(level_feat)
        pooled = pool(boundary, level_regions)
        frame = self.frame_conv(frame_pooled)
        return self.fuse(torch.cat([frame, pooled, point], dim=1)), boundary


@MODELS.register_module()
class AFSDRefineHead(nn.Module):
    """Refinement of AFSD's coarse proposals (one loc branch, one cls branch).

    Args:
        num_classes: foreground classes.
        in_channels: channels of the coarse head's towers (the level features pooled here).
        frame_channels: channels of the frame-level feature (even).
        feat_channels: proposal feature channels (512).
        pooling: ``'boundary_max'`` (AFSD) or ``'mean'`` (the paper's ablation).
        pool_impl: ``impl`` of ``tadet.ops.boundary_max_pool_1d``.
        inner_ratio / outer_ratio / min_ext: boundary regions (see
            :func:`afsd_boundary_regions`).
        use_quality: predict the quality logit (k3 conv on the loc branch).
    """

    def __init__(self, num_classes: int, in_channels: int = 512, frame_channels: int = 512,
                 feat_channels: int = 512, pooling: str = 'boundary_max', pool_impl: str = 'auto',
                 inner_ratio: float = 0.25, outer_ratio: float = 0.1, min_ext: float = 1.0,
                 use_quality: bool = True, prior_prob: float = 0.01,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32)) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f'AFSDRefineHead: pooling must be one of {POOLINGS}, got {pooling!r}')
        if frame_channels % 2:
            raise ValueError('AFSDRefineHead: frame_channels must be even')
        self.num_classes = int(num_classes)
        self.pooling = pooling
        self.pool_impl = pool_impl
        self.inner_ratio = float(inner_ratio)
        self.outer_ratio = float(outer_ratio)
        self.min_ext = float(min_ext)
        self.use_quality = bool(use_quality)
        self.loc_branch = _ProposalBranch(in_channels, frame_channels, feat_channels, norm_cfg)
        self.cls_branch = _ProposalBranch(in_channels, frame_channels, feat_channels, norm_cfg)
        self.loc_out = nn.Conv1d(feat_channels, 2, 1)
        self.cls_out = nn.Conv1d(feat_channels, num_classes + 1, 1)
        self.quality_out = nn.Conv1d(feat_channels, 1, 3, padding=1) if use_quality else None
        nn.init.normal_(self.loc_out.weight, std=0.01)
        nn.init.zeros_(self.loc_out.bias)
        nn.init.normal_(self.cls_out.weight, std=0.01)
        nn.init.zeros_(self.cls_out.bias)
        import math
        with torch.no_grad():
            # background (last logit) probability 1 - prior_prob at init
            self.cls_out.bias[num_classes] = math.log((1 - prior_prob) / prior_prob *
                                                      num_classes)

    def pool(self, x: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        if self.pooling == 'mean':
            return boundary_mean_pool_1d(x, regions)
        from tadet.ops import boundary_max_pool_1d
        return boundary_max_pool_1d(x, regions, impl=self.pool_impl)

    def forward(self, loc_feats: List[torch.Tensor], cls_feats: List[torch.Tensor],
                frame_feat: torch.Tensor, segments: List[torch.Tensor],
                window_length: float) -> Tuple[list, list, list, tuple]:
        """Per level ``l``: coarse ``segments[l] [B, T_l, 2]`` (window snippets) ->
        offsets ``[B, 2, T_l]``, logits ``[B, C+1, T_l]``, quality ``[B, 1, T_l]`` (or None);
        then the level-0 start/end boundary features of the loc and cls branches
        ``([B, 2F, T_0], [B, 2F, T_0])`` (see :meth:`boundary_features`)."""
        frame_unit = float(window_length) / frame_feat.shape[-1]
        offsets, logits, quality, boundary0 = [], [], [], None
        for lf, cf, seg in zip(loc_feats, cls_feats, segments):
            unit = float(window_length) / lf.shape[-1]
            level_regions = afsd_boundary_regions(seg, unit, self.inner_ratio, self.outer_ratio,
                                                  self.min_ext)
            frame_regions = afsd_boundary_regions(seg, frame_unit, self.inner_ratio,
                                                  self.outer_ratio, self.min_ext)
            frame_pooled = self.pool(frame_feat, frame_regions)
            loc, loc_b = self.loc_branch(lf, frame_pooled, level_regions, self.pool)
            cls, cls_b = self.cls_branch(cf, frame_pooled, level_regions, self.pool)
            if boundary0 is None:
                boundary0 = (loc_b, cls_b)
            offsets.append(self.loc_out(loc))
            logits.append(self.cls_out(cls))
            quality.append(self.quality_out(loc) if self.quality_out is not None else None)
        return offsets, logits, quality, boundary0

    def boundary_features(self, loc_feat: torch.Tensor,
                          cls_feat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The start/end boundary features (the 1x1 conv to ``2F`` before boundary pooling;
        first half start, second half end) of the loc and cls branches on one level:
        ``[B, F_in, T]`` each -> ``([B, 2F, T], [B, 2F, T])``. The authors' BCL reads them on
        level 0 (activation-guided, 0.1x; boundary contrastive, 0.1x each)."""
        return self.loc_branch.boundary_conv(loc_feat), self.cls_branch.boundary_conv(cls_feat)
