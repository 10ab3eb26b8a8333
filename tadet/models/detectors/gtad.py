"""G-TAD (Xu et al., CVPR 2020): sub-graph localization. A GCNeXt encoder (temporal + semantic
graph convolutions), the temporal evaluation module for start / end, and the G-TAD head
(GCNeXt context, SGAlign of every (start, duration) grid cell, 2D convs -> confidence maps);
optionally a snippet classification head for class labels on THUMOS14. Inference is BMN's
(shared :class:`GridProposalDetector`)."""
from typing import Optional, Union

from tadet.registry import MODELS

from .grid_proposal import GridProposalDetector


@MODELS.register_module()
class GTAD(GridProposalDetector):
    """G-TAD detector; see :class:`GridProposalDetector` for inference and the other arguments.

    Args:
        encoder: ``GCNeXtEncoder`` config.
        tem_head: ``TEMHead`` config (G-TAD's start / end regularisation branches).
        gtad_head: ``GTADHead`` config.
        cls_head: optional ``SnippetClassificationHead`` config.
    """

    def __init__(self,
                 encoder: dict,
                 tem_head: dict,
                 gtad_head: dict,
                 cls_head: Optional[dict] = None,
                 peak_ratio: float = 0.5,
                 max_proposals: int = 1000,
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(encoder, tem_head, gtad_head, cls_head, peak_ratio, max_proposals,
                         test_topk, test_score_thr, data_preprocessor, train_cfg, test_cfg,
                         init_cfg)

    @property
    def gtad_head(self):
        return self.proposal_head
