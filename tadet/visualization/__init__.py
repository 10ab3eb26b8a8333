"""Plots of detections (matplotlib, Agg backend: no display needed)."""
from .timeline import plot_detection_timeline

__all__ = ['plot_detection_timeline']
