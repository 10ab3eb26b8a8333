from .post_processor import ExternalClassifier, TADPostProcessor, decode_class_scores

__all__ = ['ExternalClassifier', 'TADPostProcessor', 'decode_class_scores']
