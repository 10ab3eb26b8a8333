"""One segment, several labels: the declared label hierarchy ``(child, parent)`` pairs.

A dataset may declare that every instance of a child class is also an instance of its parent
class (THUMOS14: every CliffDiving instance is also annotated Diving on the same segment). The
samples carry it as ``metainfo['label_hierarchy']``, a tuple of ``(child_idx, parent_idx)``.
Softmax heads train the specific (child) label where both are annotated
(:func:`drop_implied_labels`), and inference emits the implied (ancestor) labels again
(:class:`tadet.models.post_processing.TADPostProcessor`, ``implied_labels``).
"""
from typing import Iterable, List, Sequence, Tuple

import torch

from tadet.datasets.label_hierarchy import label_ancestors


def implied_label_pairs(pairs: Iterable[Sequence[int]]) -> List[Tuple[int, int]]:
    """Every ``(label, implied label)`` pair: each child with each of its ancestors."""
    return [(c, a) for c, anc in label_ancestors(pairs).items() for a in anc]


def drop_implied_labels(segments: torch.Tensor, labels: torch.Tensor,
                        pairs: Iterable[Sequence[int]]) -> torch.Tensor:
    """``[N]`` bool keep-mask: False for an entry whose label is implied (an ancestor, per
    ``pairs``) by another entry's label on exactly the same segment.

    Args:
        segments: ``[N, 2]``.
        labels: ``[N]``.
        pairs: ``(child, parent)`` class indices.
    """
    keep = torch.ones(labels.shape[0], dtype=torch.bool, device=labels.device)
    implied = implied_label_pairs(pairs)
    if not implied or labels.numel() < 2:
        return keep
    same = (segments[:, None, :] == segments[None, :, :]).all(-1)  # [N, N]
    # by_other[i, j]: label i is implied by label j
    by_other = torch.zeros_like(same)
    for child, anc in implied:
        by_other |= (labels[:, None] == anc) & (labels[None, :] == child)
    return ~(same & by_other).any(1)


def first_unique_segments(segments: torch.Tensor) -> torch.Tensor:
    """``[N]`` bool keep-mask: the first of every group of identical segments ``[N, 2]``."""
    same = (segments[:, None, :] == segments[None, :, :]).all(-1)
    return ~torch.tril(same, diagonal=-1).any(1)
