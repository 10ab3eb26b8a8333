"""The one contract every tadet head follows (after MMDetection 3.x ``BaseDenseHead``).

A head is an mmengine ``BaseModule`` that owns its targets, losses and decoding:

- ``forward(feats, masks)`` -> raw outputs (anything the head's ``*_by_feat`` methods read);
- ``loss(feats, masks, data_samples) -> dict`` = ``forward`` + ``loss_by_feat``: assigns its
  own targets from the samples' ``gt_instances`` (window snippet units) and returns its weighted
  losses, every key starting with ``loss``;
- ``predict(feats, masks) -> list`` = ``forward`` + ``predict_by_feat``: per window a candidate
  dict ``segments [N, 2]`` (window snippet coordinates), ``scores [N]``, ``labels [N]``
  (``0 .. num_classes - 1``; class-agnostic proposals use label 0).

``feats`` is what the detector's ``extract_feat`` returns (one map ``[B, C, T]`` or a pyramid,
a list of ``[B, C_l, T_l]``); ``masks [B, T]`` is True on real (unpadded) snippets.

Background convention: a softmax head predicts ``num_classes + 1`` logits with background at
the **last** index (``num_classes``), as in MMDetection; sigmoid heads predict ``num_classes``.

Test-time options come from the detector's one ``test_cfg``: the detector validates it against
the union of its own keys and each head's ``TEST_CFG_KEYS`` and hands it to every head as
``head.test_cfg`` (a dict; ``get_test_cfg(key, default)`` reads it).
"""
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule

from tadet.structures import TADDataSample

# read by heads that decode class scores into (segment, class) candidates
CANDIDATE_TEST_KEYS = frozenset({'pre_nms_topk', 'score_thr'})


class BaseTADHead(BaseModule, metaclass=ABCMeta):
    """Base of every tadet head (see the module docstring for the contract).

    Subclasses implement ``forward``, ``loss_by_feat`` and (for heads that produce candidates)
    ``predict_by_feat``, and list the ``test_cfg`` keys they read in ``TEST_CFG_KEYS``.

    Args:
        init_cfg: mmengine weight initialisation config.
    """

    TEST_CFG_KEYS: frozenset = frozenset()

    def __init__(self, init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.test_cfg: Dict[str, Any] = {}

    def get_test_cfg(self, key: str, default: Any = None) -> Any:
        if key not in self.TEST_CFG_KEYS:
            raise KeyError(f'{type(self).__name__} reads test_cfg.{key} but does not list it in '
                           f'TEST_CFG_KEYS')
        return self.test_cfg.get(key, default)

    @abstractmethod
    def loss_by_feat(self, outs: Any, masks: torch.Tensor,
                     data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """Losses from the head's raw outputs ``outs`` and the samples' ground truth."""

    def predict_by_feat(self, outs: Any, masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per-window candidates from the head's raw outputs."""
        raise NotImplementedError(f'{type(self).__name__} produces no candidates')

    def loss(self, feats: Any, masks: torch.Tensor,
             data_samples: Sequence[TADDataSample]) -> Dict[str, torch.Tensor]:
        """``forward`` + ``loss_by_feat``."""
        return self.loss_by_feat(self(feats, masks), masks, data_samples)

    def predict(self, feats: Any, masks: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """``forward`` + ``predict_by_feat``."""
        return self.predict_by_feat(self(feats, masks), masks)


LABEL_RULES = ('all', 'specific')


def unpack_gt_instances(data_samples: Sequence[TADDataSample], device: torch.device,
                        class_agnostic: bool = False, label_rule: str = 'all') -> tuple:
    """Ground truth of a batch: (segments per sample ``[N_b, 2]`` float, labels per sample
    ``[N_b]`` long), on ``device``.

    One segment may carry several labels (one entry per label). ``label_rule`` decides which
    entries a head trains on:

    - ``'all'``: every (segment, label) entry (sigmoid / multi-hot heads learn every label);
    - ``'specific'``: an entry whose label is implied (an ancestor in the sample's
      ``metainfo['label_hierarchy']`` ``(child, parent)`` pairs) by another entry's label on
      exactly the same segment is dropped, so a softmax head, which needs one label per target,
      trains the specific label (CliffDiving, not Diving); inference emits the implied label
      again (``test_cfg.implied_labels``). Labels the hierarchy does not relate are all kept
      (the dataset warns about them).

    ``class_agnostic`` sets every label to 0 and keeps identical segments once (one proposal
    target), whatever ``label_rule``.
    """
    from tadet.models.task_modules.label_hierarchy import (drop_implied_labels,
                                                           first_unique_segments)
    if label_rule not in LABEL_RULES:
        raise ValueError(f'unpack_gt_instances: label_rule must be one of {LABEL_RULES}, got '
                         f'{label_rule!r}')
    segments, labels = [], []
    for s in data_samples:
        segs = s.gt_instances.segments.to(device).float().reshape(-1, 2)
        lab = s.gt_instances.labels.to(device).long().reshape(-1)
        if class_agnostic:
            segs = segs[first_unique_segments(segs)]
            lab = lab.new_zeros(segs.shape[0])
        elif label_rule == 'specific':
            keep = drop_implied_labels(segs, lab, s.metainfo.get('label_hierarchy', ()))
            segs, lab = segs[keep], lab[keep]
        segments.append(segs)
        labels.append(lab)
    return segments, labels
