"""Evaluation: ActivityNet-style detection mAP, AR@AN, result files, and ``TADMetric``."""
from .functional import (PredictionFormatError, UnknownLabelError,
                         average_recall_at_num_proposals, detection_map, format_results,
                         load_ground_truth, load_predictions, segment_tiou)
from .metrics import TADMetric

__all__ = [
    'TADMetric', 'detection_map', 'average_recall_at_num_proposals', 'segment_tiou',
    'load_predictions', 'load_ground_truth', 'format_results', 'PredictionFormatError',
    'UnknownLabelError'
]
