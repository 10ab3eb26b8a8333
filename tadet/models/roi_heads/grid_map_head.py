"""The one implementation shared by the (start, duration) grid proposal heads (BMN's
``BMHead``, G-TAD's ``GTADHead``): the temporal evaluation module they own, the 2D map-conv
stack, BMN's targets and losses, and BMN's candidate decoding."""
from abc import abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from tadet.models.dense_heads.base_tad_head import BaseTADHead, unpack_gt_instances
from tadet.models.post_processing.grid_candidates import grid_candidates
from tadet.models.task_modules.grid_targets import (grid_tiou_targets, grid_valid_mask,
                                                    tiou_stratified_weights)
from tadet.registry import MODELS
from tadet.structures import TADDataSample


def build_map_convs(in_channels: int, map_channels: int, num_map_convs: int) -> nn.Sequential:
    """BMN / G-TAD's 2D stack on ``[B, in_channels, D, T]``: 1x1 conv to ``map_channels`` +
    ReLU, ``num_map_convs`` x (3x3 conv + ReLU), 1x1 conv to the 2 (classification,
    regression) maps (logits)."""
    layers = [nn.Conv2d(in_channels, map_channels, 1), nn.ReLU(inplace=True)]
    for _ in range(num_map_convs):
        layers += [nn.Conv2d(map_channels, map_channels, 3, padding=1), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(map_channels, 2, 1))
    return nn.Sequential(*layers)


class GridMapHead(BaseTADHead):
    """TEM + (classification, regression) confidence maps ``[B, 2, D, T]`` over the
    (duration, start) grid; subclasses build their cell features and ``map_convs``
    (:func:`build_map_convs`) and implement :meth:`forward_maps`.

    The head owns its temporal evaluation module (``tem_head``): the candidates need the start
    / end probabilities, so ``forward`` returns both and the head decodes candidates alone
    (``predict``), without the detector wiring one head's outputs into another.

    Targets: max tIoU of each cell with the ground truth. Losses: the TEM's, balanced BCE on
    ``tIoU > pos_thr`` (``loss_cls``, BMN: 0.9) on the valid cells and ``loss_reg`` (MSE,
    weight 10) on BMN's high / medium / low sample of them.

    Inference (``test_cfg``): BMN's candidates (start and end snippets at TEM local peaks or
    above ``peak_ratio`` (0.5) x max; score ``start * end * cls * reg``), the best
    ``max_proposals`` (1000; -1: all) kept, class-agnostic (label 0).

    Args:
        tem_head: ``TEMHead`` config (built first: its parameters precede the map's).
        max_duration: ``D``, longest proposal in snippets.
        reg_high_thr / reg_low_thr: bands of the regression sampling (0.7 / 0.3).
        loss_cls / loss_reg: loss configs.
        init_cfg: mmengine weight initialisation config.
    """

    TEST_CFG_KEYS = frozenset({'peak_ratio', 'max_proposals'})

    def __init__(self, tem_head: dict, max_duration: int, reg_high_thr: float = 0.7,
                 reg_low_thr: float = 0.3, loss_cls: Optional[dict] = None,
                 loss_reg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.tem_head = MODELS.build(tem_head)
        self.max_duration = int(max_duration)
        self.reg_high_thr = float(reg_high_thr)
        self.reg_low_thr = float(reg_low_thr)
        self.loss_cls = MODELS.build(loss_cls or dict(type='BalancedBCELoss', pos_thr=0.9))
        self.loss_reg = MODELS.build(loss_reg or dict(type='MSELoss', loss_weight=10.0))

    @abstractmethod
    def forward_maps(self, feats: torch.Tensor,
                     masks: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feats [B, C, T]`` -> confidence maps ``[B, 2, D, T]`` in (0, 1)."""

    def forward(self, feats: torch.Tensor,
                masks: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """``feats [B, C, T]`` -> dict(start ``[B, T]``, end ``[B, T]``, maps
        ``[B, 2, D, T]``)."""
        start, end = self.tem_head(feats, masks)
        return dict(start=start, end=end, maps=self.forward_maps(feats, masks))

    def targets(self, masks: torch.Tensor,
                gt_segments: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """(tIoU targets ``[B, D, T]``, valid cells ``[B, D, T]``)."""
        T = masks.shape[1]
        tiou = torch.stack([grid_tiou_targets(g.to(masks.device).float(), T, self.max_duration)
                            for g in gt_segments])
        return tiou, grid_valid_mask(masks, self.max_duration)

    def map_loss(self, maps: torch.Tensor, masks: torch.Tensor,
                 gt_segments: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``maps [B, 2, D, T]``, ``masks [B, T]``, ground truth per window ``[N, 2]`` ->
        ``dict(loss_pem_cls, loss_pem_reg)``."""
        tiou, valid = self.targets(masks, gt_segments)
        weights = tiou_stratified_weights(tiou, valid, self.reg_high_thr, self.reg_low_thr)
        return dict(
            loss_pem_cls=self.loss_cls(maps[:, 0], tiou, valid.to(maps.dtype)),
            loss_pem_reg=self.loss_reg(maps[:, 1], tiou, weight=weights,
                                       avg_factor=weights.sum()))

    def loss_by_feat(self, outs: Dict[str, torch.Tensor], masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """-> ``dict(loss_start, loss_end, loss_pem_cls, loss_pem_reg)``."""
        losses = self.tem_head.loss_by_feat((outs['start'], outs['end']), masks, data_samples)
        gt_segments, _ = unpack_gt_instances(data_samples, outs['maps'].device,
                                             class_agnostic=True)
        losses.update(self.map_loss(outs['maps'], masks, gt_segments))
        return losses

    def predict_by_feat(self, outs: Dict[str, torch.Tensor],
                        masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per window the class-agnostic proposals dict(segments ``[K, 2]``, scores ``[K]``,
        labels ``[K]`` = 0)."""
        peak_ratio = float(self.get_test_cfg('peak_ratio', 0.5))
        max_proposals = int(self.get_test_cfg('max_proposals', 1000))
        results = []
        for w in range(masks.shape[0]):
            maps = outs['maps'][w]
            cand = grid_candidates(outs['start'][w], outs['end'][w], maps[0], maps[1],
                                   int(masks[w].sum()), peak_ratio)
            segs, scores = cand['segments'], cand['scores']
            if 0 < max_proposals < scores.numel():
                idx = scores.topk(max_proposals).indices
                segs, scores = segs[idx], scores[idx]
            results.append(dict(segments=segs, scores=scores,
                                labels=torch.zeros_like(scores, dtype=torch.long)))
        return results
