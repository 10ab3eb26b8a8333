from .grid_candidates import boundary_peak_mask, grid_candidates
from .post_processor import ExternalClassifier, TADPostProcessor, decode_class_scores
from .proposal_class_fusion import ProposalClassFusion, proposal_class_scores

__all__ = ['ExternalClassifier', 'TADPostProcessor', 'decode_class_scores', 'boundary_peak_mask',
           'grid_candidates', 'ProposalClassFusion', 'proposal_class_scores']
