"""Per-snippet targets derived from annotations (window snippet coordinates)."""
import torch


def snippet_class_targets(segments: torch.Tensor, labels: torch.Tensor, num_snippets: int,
                          num_classes: int) -> torch.Tensor:
    """Class of every snippet: the action containing its centre, background otherwise.

    Snippet ``i`` covers ``[i, i + 1)``; it takes the label of an action ``[s, e]`` when
    ``s <= i + 0.5 <= e``. Where actions overlap, the shortest one wins (its boundaries are
    the ones the detector must find inside the longer one).

    Args:
        segments: ``[N, 2]`` (start, end) in snippets.
        labels: ``[N]`` class indices in ``[0, num_classes)``.
        num_snippets: ``T``.
        num_classes: foreground classes; background is index ``num_classes``.

    Returns:
        ``[T]`` long tensor with values in ``[0, num_classes]``.
    """
    device = segments.device
    target = torch.full((int(num_snippets),), int(num_classes), dtype=torch.long, device=device)
    if segments.numel() == 0:
        return target
    if labels.numel() != segments.shape[0]:
        raise ValueError(f'snippet_class_targets: {segments.shape[0]} segments but '
                         f'{labels.numel()} labels')
    if bool(((labels < 0) | (labels >= num_classes)).any()):
        raise ValueError(f'snippet_class_targets: labels must be in [0, {num_classes})')
    centres = torch.arange(int(num_snippets), device=device, dtype=segments.dtype) + 0.5
    inside = (centres[None] >= segments[:, :1]) & (centres[None] <= segments[:, 1:])  # [N, T]
    lengths = (segments[:, 1] - segments[:, 0])[:, None].expand_as(inside)
    lengths = torch.where(inside, lengths, torch.full_like(lengths, float('inf')))
    best_len, best = lengths.min(dim=0)
    covered = torch.isfinite(best_len)
    target[covered] = labels.long()[best[covered]]
    return target
