"""Multi-hot per-snippet targets: one segment may carry several labels.

In THUMOS14 every CliffDiving instance is also annotated as Diving on exactly the same segment.
A single-label target (:func:`snippet_class_targets`) must pick one of them; with per-class
sigmoids both are simply 1, so both classes are learnable.
"""
import torch


def snippet_multilabel_targets(segments: torch.Tensor, labels: torch.Tensor, num_snippets: int,
                               num_classes: int) -> torch.Tensor:
    """Multi-hot class targets of every snippet.

    Snippet ``i`` covers ``[i, i + 1)``; its target for class ``k`` is 1 when its centre lies in
    an action ``[s, e]`` labelled ``k`` (``s <= i + 0.5 <= e``, the convention of
    :func:`snippet_class_targets`). A segment with several labels appears once per label (as
    :func:`unpack_gt_instances` returns it) and sets every one of them.

    Args:
        segments: ``[N, 2]`` (start, end) in snippets.
        labels: ``[N]`` class indices in ``[0, num_classes)``.
        num_snippets: ``T``.
        num_classes: ``C`` (no background class).

    Returns:
        ``[T, C]`` float tensor of 0 / 1.
    """
    device = segments.device
    target = torch.zeros((int(num_snippets), int(num_classes)), device=device)
    if labels.numel() != segments.shape[0] or bool(((labels < 0) | (labels >= num_classes)).any()):
        raise ValueError(f'snippet_multilabel_targets: need one label in [0, {num_classes}) per '
                         f'segment, got labels {labels.tolist()} for {segments.shape[0]} segments')
    if segments.numel() == 0:
        return target
    segments = segments.float()
    centres = torch.arange(int(num_snippets), device=device, dtype=segments.dtype) + 0.5
    inside = (centres[None] >= segments[:, :1]) & (centres[None] <= segments[:, 1:])  # [N, T]
    onehot = torch.nn.functional.one_hot(labels.long(), int(num_classes)).float()  # [N, C]
    # [T, C]: number of actions of class k containing snippet i, clipped to 1
    return (inside.float().T @ onehot).clamp_(max=1.0)
