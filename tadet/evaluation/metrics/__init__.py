from .tad_metric import TADMetric, save_per_class_plot

__all__ = ['TADMetric', 'save_per_class_plot']
