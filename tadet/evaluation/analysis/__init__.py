"""Detection analysis (DETAD-style diagnosis): false-positive profile, sensitivity of AP to
action characteristics, and the data they read (ground truth, durations, predictions)."""
from .boundary_error import boundary_errors, format_boundary_table
from .fp_profile import (ERROR_TYPES, classify_predictions, false_positive_profile,
                         format_fp_table, plot_fp_profile)
from .reference import load_reference
from .training_curve import (draw_curves, format_curve_table, mean_curve, plot_curves,
                             read_val_curve)
from .sensitivity import (COVERAGE_BUCKETS, LENGTH_BUCKETS, format_sensitivity_table,
                          plot_sensitivity, sensitivity_analysis)

__all__ = [
    'boundary_errors', 'format_boundary_table',
    'ERROR_TYPES', 'classify_predictions', 'false_positive_profile', 'format_fp_table',
    'plot_fp_profile', 'load_reference', 'LENGTH_BUCKETS', 'COVERAGE_BUCKETS',
    'sensitivity_analysis', 'format_sensitivity_table', 'plot_sensitivity',
    'read_val_curve', 'mean_curve', 'format_curve_table', 'plot_curves', 'draw_curves'
]
