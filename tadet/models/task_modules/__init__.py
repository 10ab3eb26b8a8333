from .assigners import (MaxTIoUAssigner, RegressRangeAssigner,  # noqa: F401
                        SegmentAssignResult)
from .prior_generators import (AnchorGenerator1d, PointGenerator1d,  # noqa: F401
                               prior_valid_mask)
from .samplers import HardNegativeSampler, OverlapHardNegativeSampler  # noqa: F401
from .segment_coder import DeltaCWSegmentCoder  # noqa: F401
from .tiou import segment_cw_to_se, segment_se_to_cw, segment_tiou  # noqa: F401
from .afsd_assigner import (AFSDAssigner, AFSDAssignResult,  # noqa: F401
                            AFSDRefineOffsetCoder, afsd_boundary_bands)
from .snippet_targets import snippet_class_targets  # noqa: F401
from .boundary_targets import boundary_targets  # noqa: F401
from .rcl_offset_coder import LengthOffsetSegmentCoder  # noqa: F401
from .rcl_query_samplers import (GridQuerySampler, RandomQuerySampler,  # noqa: F401
                                 ScaleInvariantQuerySampler, clamp_queries, grid_queries)
from .grid_targets import (grid_segments, grid_tiou_targets, grid_valid_mask,  # noqa: F401
                           tiou_stratified_weights)
from .segtad_targets import (action_snippet_range, proposal_tiou_targets,  # noqa: F401
                             segtad_boundary_targets)
from .segtad_proposals import SparseProposalGenerator, tiou_neighbours  # noqa: F401
from .segtad_sampler import NeighbourhoodSampler  # noqa: F401
from .label_hierarchy import (drop_implied_labels, first_unique_segments,  # noqa: F401
                              implied_label_pairs, label_ancestors)
