"""RCL (Wang et al., CVPR 2022): recurrent continuous localization, a plug-in for grid-based
proposal detectors. The base (BMN's or G-TAD's encoder + the temporal evaluation module) is
kept; the discrete boundary-matching / graph proposal map is replaced by the continuous
anchoring representation and the recurrent refine module (:class:`RCLHead`, which owns the
TEM).

The encoder is chosen by config: ``encoder=dict(type='BMNEncoder', ...)`` or
``dict(type='GCNeXtEncoder', ...)`` (both ``[B, C_in, T], mask [B, T] -> [B, C, T]``).
The 1e-5 L2 term of the paper is the optimizer's ``weight_decay`` in the configs.
"""
from tadet.models.post_processing.grid_candidates import boundary_scores  # noqa: F401
from tadet.registry import MODELS

from .grid_proposal import GridProposalDetector


@MODELS.register_module()
class RCL(GridProposalDetector):
    """RCL detector: ``encoder``, ``proposal_head=RCLHead`` (with its ``tem_head``), optional
    ``cls_head`` (THUMOS14; ``None``: class-agnostic proposals for an external classifier);
    see :class:`GridProposalDetector`. ``test_cfg.use_boundary_score`` multiplies the proposal
    score by the TEM probabilities at its boundaries (``configs/rcl/README.md``).

    Migration: the former ``roi_head`` key is ``proposal_head`` and the detector's ``tem_head``
    is ``proposal_head.tem_head`` (old checkpoints load through ``STATE_DICT_RENAMES``);
    ``use_boundary_score`` / ``test_topk`` / ``test_score_thr`` -> ``test_cfg``
    (``use_boundary_score`` / ``pre_nms_topk`` / ``score_thr``).
    """

    STATE_DICT_RENAMES = (('tem_head.', 'proposal_head.tem_head.'),
                          ('roi_head.', 'proposal_head.'))
