"""BMN (Lin et al., ICCV 2019): boundary-matching network. A base module (``BMNEncoder``), the
temporal evaluation module (``TEMHead``) and the boundary-matching head (``BMHead``: BM layer +
PEM confidence maps over the (start, duration) grid); optionally a snippet classification head
for class labels on THUMOS14."""
from typing import Optional, Union

from tadet.registry import MODELS

from .grid_proposal import GridProposalDetector


@MODELS.register_module()
class BMN(GridProposalDetector):
    """BMN detector; see :class:`GridProposalDetector` for inference and the other arguments.

    Args:
        encoder: ``BMNEncoder`` config.
        tem_head: ``TEMHead`` config.
        bm_head: ``BMHead`` config.
        cls_head: optional ``SnippetClassificationHead`` config.
    """

    def __init__(self,
                 encoder: dict,
                 tem_head: dict,
                 bm_head: dict,
                 cls_head: Optional[dict] = None,
                 peak_ratio: float = 0.5,
                 max_proposals: int = 1000,
                 test_topk: int = 1000,
                 test_score_thr: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(encoder, tem_head, bm_head, cls_head, peak_ratio, max_proposals,
                         test_topk, test_score_thr, data_preprocessor, train_cfg, test_cfg,
                         init_cfg)

    @property
    def bm_head(self):
        return self.proposal_head
