"""BMN (Lin et al., ICCV 2019): boundary-matching network. A base module (``BMNEncoder``) and
the boundary-matching head (``BMHead``: its temporal evaluation module + BM layer + PEM
confidence maps over the (start, duration) grid); optionally a snippet classification head
for class labels on THUMOS14."""
from tadet.registry import MODELS

from .grid_proposal import GridProposalDetector


@MODELS.register_module()
class BMN(GridProposalDetector):
    """BMN detector: ``encoder=BMNEncoder``, ``proposal_head=BMHead`` (with its ``tem_head``),
    optional ``cls_head``; see :class:`GridProposalDetector` for the arguments, inference
    and the migration from the former ``tem_head`` / ``bm_head`` keys."""
