from .base_tad_head import BaseTADHead, unpack_gt_instances  # noqa: F401
from .a2net_anchor_free_head import A2NetAnchorFreeHead  # noqa: F401
from .a2net_anchor_head import A2NetAnchorHead  # noqa: F401
from .afsd_coarse_head import AFSDCoarseHead  # noqa: F401
from .afsd_head import AFSDHead  # noqa: F401
from .snippet_cls_head import SnippetClassificationHead, proposal_class_scores  # noqa: F401
from .tem_head import TEMHead  # noqa: F401
from .segtad_seg_head import SegTADSegHead  # noqa: F401
from .snippet_baseline_head import SnippetBaselineHead, threshold_runs  # noqa: F401
