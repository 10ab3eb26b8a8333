"""AFSD's coarse anchor-free network (shared over pyramid levels), the first stage of
:class:`AFSDHead` (which owns its priors, targets, losses and decoding)."""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from tadet.models.layers import ConvBlock1d
from tadet.registry import MODELS


class _Scale(nn.Module):

    def __init__(self, init: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


@MODELS.register_module()
class AFSDCoarseHead(nn.Module):
    """Loc tower and cls tower (``num_convs`` x (k3 conv + norm + ReLU)) shared over levels;
    loc output: 2 distances (to start, to end) ``exp(scale_l * x)`` in units of the level's
    stride; cls output: ``num_classes + 1`` logits (background last, at ``num_classes``).

    Args:
        num_classes: foreground classes (1 for class-agnostic proposals).
        in_channels / feat_channels: pyramid channels / tower channels.
        num_levels: number of pyramid levels (one learnable scale each).
        prior_prob: initial foreground probability of the cls output (sets the biases).
    """

    def __init__(self, num_classes: int, in_channels: int = 512, feat_channels: int = 512,
                 num_convs: int = 2, num_levels: int = 6, prior_prob: float = 0.01,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32)) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError('AFSDCoarseHead: num_classes must be >= 1')
        if not 0.0 < prior_prob < 1.0:
            raise ValueError('AFSDCoarseHead: prior_prob must be in (0, 1)')
        self.num_classes = int(num_classes)
        self.num_levels = int(num_levels)
        self.feat_channels = int(feat_channels)

        def tower():
            layers = []
            for i in range(num_convs):
                layers.append(ConvBlock1d(in_channels if i == 0 else feat_channels,
                                          feat_channels, 3, norm_cfg=norm_cfg))
            return nn.Sequential(*layers)

        self.loc_tower = tower()
        self.cls_tower = tower()
        self.loc_out = nn.Conv1d(feat_channels, 2, 3, padding=1)
        self.cls_out = nn.Conv1d(feat_channels, num_classes + 1, 3, padding=1)
        self.scales = nn.ModuleList(_Scale(1.0) for _ in range(num_levels))
        self.prior_prob = float(prior_prob)
        self._init_bias()

    def _init_bias(self) -> None:
        nn.init.normal_(self.cls_out.weight, std=0.01)
        nn.init.zeros_(self.cls_out.bias)
        # background probability 1 - prior_prob at init, the rest shared by the classes
        with torch.no_grad():
            self.cls_out.bias[self.num_classes] = math.log((1 - self.prior_prob) / self.prior_prob *
                                            self.num_classes)

    def forward(self, feats: List[torch.Tensor]) -> Tuple[list, list, list, list]:
        """Per level: ``loc_feat [B, F, T_l]``, ``cls_feat [B, F, T_l]``, distances
        ``[B, 2, T_l]`` (level units, positive), cls logits ``[B, C+1, T_l]``."""
        if len(feats) != self.num_levels:
            raise ValueError(f'AFSDCoarseHead: {len(feats)} levels, built for {self.num_levels}')
        loc_feats, cls_feats, dists, logits = [], [], [], []
        for i, x in enumerate(feats):
            lf = self.loc_tower(x)
            cf = self.cls_tower(x)
            loc_feats.append(lf)
            cls_feats.append(cf)
            dists.append(self.scales[i](self.loc_out(lf)).clamp(max=20.0).exp())
            logits.append(self.cls_out(cf))
        return loc_feats, cls_feats, dists, logits
