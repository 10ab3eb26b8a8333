"""G-TAD (Xu et al., CVPR 2020): sub-graph localization. A GCNeXt encoder (temporal + semantic
graph convolutions) and the G-TAD head (its temporal evaluation module for start / end, GCNeXt
context, SGAlign of every (start, duration) grid cell, 2D convs -> confidence maps);
optionally a snippet classification head for class labels on THUMOS14. Inference is BMN's
(shared :class:`GridProposalDetector`)."""
from tadet.registry import MODELS

from .grid_proposal import GridProposalDetector


@MODELS.register_module()
class GTAD(GridProposalDetector):
    """G-TAD detector: ``encoder=GCNeXtEncoder``, ``proposal_head=GTADHead`` (with its
    ``tem_head``), optional ``cls_head``; see :class:`GridProposalDetector` for the arguments,
    inference and the migration from the former ``tem_head`` / ``gtad_head`` keys."""
