"""Class-agnostic proposals -> (segment, class) candidates: the one place where proposal
detectors (BMN, G-TAD, RCL, SegTAD) get their classes."""
from typing import Dict, Optional

import torch

from tadet.registry import TASK_UTILS

from .post_processor import decode_class_scores


def proposal_class_scores(snippet_probs: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Mean class probabilities over the snippets each segment covers.

    Args:
        snippet_probs: ``[T, C]`` per-snippet class probabilities (background column removed).
        segments: ``[N, 2]`` (start, end) in snippets of the same sequence.

    Returns:
        ``[N, C]``. A segment covers snippets ``floor(start) .. ceil(end) - 1`` (clipped to the
        sequence, at least one snippet).
    """
    T, C = snippet_probs.shape
    if segments.numel() == 0:
        return snippet_probs.new_zeros((0, C))
    csum = torch.cat([snippet_probs.new_zeros((1, C)), snippet_probs.cumsum(0)], dim=0)
    first = segments[:, 0].floor().long().clamp(0, T - 1)
    last = (segments[:, 1].ceil().long() - 1).clamp(0, T - 1)
    last = torch.maximum(last, first)
    count = (last - first + 1).to(snippet_probs.dtype)[:, None]
    return (csum[last + 1] - csum[first]) / count


@TASK_UTILS.register_module()
class ProposalClassFusion:
    """Scores class-agnostic proposals of one window with classes.

    With per-snippet class probabilities (a snippet classification / segmentation head: the
    THUMOS14 setting, where no video-level classifier exists), a proposal's class scores are the
    mean probabilities of the snippets it covers (:func:`proposal_class_scores`), renormalised
    over the classes by default, and the candidates are the (proposal, class) pairs scored
    ``proposal score * p(class)``. Without (``snippet_probs=None``), the proposals stay
    class-agnostic (label 0) for the post-processing's ``external_classifier`` (ActivityNet). Either way the best ``topk`` above
    ``score_thr`` are kept (the detector's ``test_cfg.pre_nms_topk`` / ``score_thr``).

    Args:
        clip_to_valid: read the class probabilities of the real snippets only (padded snippets
            at the window's end are not averaged into a proposal that reaches them).
        class_scores: ``'normalized'`` (default): the mean foreground probabilities inside the
            proposal renormalised over the foreground classes (they sum to 1), so the class
            score says *which* class and the proposal score alone how well the segment fits an
            action (as a video-level classifier does in BMN / G-TAD on THUMOS14); ``'mean'``:
            the mean itself, whose class score also grows as a proposal shrinks into the
            action's core (boundary snippets are less sure), which ranks short proposals above
            well-fitting ones (docs/benchmark.md, "Boundary bias").
    """

    CLASS_SCORES = ('mean', 'normalized')

    def __init__(self, clip_to_valid: bool = True, class_scores: str = 'normalized') -> None:
        if class_scores not in self.CLASS_SCORES:
            raise ValueError(f'ProposalClassFusion: class_scores must be one of '
                             f'{self.CLASS_SCORES}, got {class_scores!r}')
        self.clip_to_valid = bool(clip_to_valid)
        self.class_scores = class_scores

    def __call__(self, segments: torch.Tensor, scores: torch.Tensor,
                 snippet_probs: Optional[torch.Tensor], num_valid: int, topk: int = -1,
                 score_thr: float = 0.0) -> Dict[str, torch.Tensor]:
        """``segments [N, 2]`` and ``scores [N]`` of one window, ``snippet_probs [T, C]`` or
        ``None``, ``num_valid`` real snippets -> dict(segments, scores, labels)."""
        if snippet_probs is None:
            keep = torch.nonzero(scores > score_thr).squeeze(1)
            if 0 < topk < keep.numel():
                keep = keep[scores[keep].topk(topk).indices]
            return dict(segments=segments[keep], scores=scores[keep],
                        labels=torch.zeros_like(keep))
        if self.clip_to_valid:
            snippet_probs = snippet_probs[:max(int(num_valid), 1)]
        cls = proposal_class_scores(snippet_probs, segments)
        if self.class_scores == 'normalized':
            cls = cls / cls.sum(1, keepdim=True).clamp(min=torch.finfo(cls.dtype).tiny)
        cls = cls * scores[:, None]
        return decode_class_scores(segments, cls, topk, score_thr)
