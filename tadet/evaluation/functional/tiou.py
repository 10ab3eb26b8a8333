"""Temporal IoU between segments (length = end - start)."""
import numpy as np


def tiou_broadcast(p_start, p_end, g_start, g_end) -> np.ndarray:
    """Element-wise tIoU of broadcastable start/end arrays.

    Same arithmetic as ActivityNet's ``segment_iou``: intersection clipped at 0, union = sum of
    lengths minus intersection. A zero union (two zero-length segments) gives 0, not NaN.
    """
    inter = np.clip(np.minimum(p_end, g_end) - np.maximum(p_start, g_start), 0, None)
    union = (p_end - p_start) + (g_end - g_start) - inter
    out = np.zeros(np.broadcast(inter, union).shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def segment_tiou(pred, gt) -> np.ndarray:
    """tIoU of every prediction with every ground truth segment.

    Args:
        pred: ``[N, 2]`` (start, end).
        gt: ``[M, 2]`` (start, end).

    Returns:
        ``[N, M]`` float64.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 2)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 2)
    return tiou_broadcast(pred[:, 0:1], pred[:, 1:2], gt[None, :, 0], gt[None, :, 1])
