from .base import BaseTADDetector

__all__ = ['BaseTADDetector']
