"""Numpy implementations of temporal action detection metrics (ActivityNet protocol)."""
from .detection import (ACTIVITYNET_TIOU_THRESHOLDS, THUMOS14_TIOU_THRESHOLDS,
                        average_precision_per_class, detection_map, interpolated_ap)
from .io import (PredictionFormatError, UnknownLabelError, format_results, load_ground_truth,
                 load_predictions, write_json_atomic)
from .proposal import average_recall_at_num_proposals, recall_at
from .reference import reference_detection_map
from .report import format_ar_table, format_map_table
from .tiou import segment_tiou

__all__ = [
    'segment_tiou', 'detection_map', 'reference_detection_map', 'average_precision_per_class',
    'interpolated_ap', 'average_recall_at_num_proposals', 'recall_at', 'load_predictions',
    'load_ground_truth', 'format_results', 'write_json_atomic', 'PredictionFormatError',
    'UnknownLabelError', 'format_map_table', 'format_ar_table', 'THUMOS14_TIOU_THRESHOLDS',
    'ACTIVITYNET_TIOU_THRESHOLDS'
]
