"""Boundary offsets relative to the query length (RCL): ``x* = x + dx * (xe - xs)``."""
import torch

from tadet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class LengthOffsetSegmentCoder:
    """Encode / decode both boundaries of a segment as offsets in units of the query length.

    ``encode``: ``dxs = (gs - xs) / L``, ``dxe = (ge - xe) / L`` with ``L = max(xe - xs,
    min_length)``; ``decode`` inverts it. Unlike centre / log-width coders, each boundary
    moves on its own, which is what RCL's refinement updates ``(dxs, dxe)`` are.

    Args:
        min_length: floor of ``L`` (a degenerate query must not divide by 0).
        max_delta: ``|dx|`` is clamped to this at decoding (an untrained head must not throw
            a boundary far away); ``encode`` does not clamp.
    """

    def __init__(self, min_length: float = 1e-3, max_delta: float = 4.0) -> None:
        if min_length <= 0 or max_delta <= 0:
            raise ValueError('LengthOffsetSegmentCoder: min_length and max_delta must be > 0')
        self.min_length = float(min_length)
        self.max_delta = float(max_delta)

    def _length(self, queries: torch.Tensor) -> torch.Tensor:
        return (queries[..., 1] - queries[..., 0]).clamp(min=self.min_length)[..., None]

    def encode(self, queries: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``queries [..., 2]``, ``targets [..., 2]`` (start, end) -> offsets ``[..., 2]``."""
        queries = queries.float()
        return (targets.float() - queries) / self._length(queries)

    def decode(self, queries: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
        """``queries [..., 2]``, ``deltas [..., 2]`` -> segments ``[..., 2]``."""
        queries = queries.to(deltas.dtype)
        deltas = deltas.clamp(-self.max_delta, self.max_delta)
        return queries + deltas * self._length(queries)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_length={self.min_length}, '
                f'max_delta={self.max_delta})')
