from .afsd_refine_head import AFSDRefineHead, afsd_boundary_regions  # noqa: F401
from .rcl_head import RCLHead  # noqa: F401
from .bm_head import (BMHead, GridMapHead, bm_sampling_matrix,  # noqa: F401
                      bm_sampling_weights)
from .gtad_head import GTADHead  # noqa: F401
from .segtad_pdn import SegTADPDN  # noqa: F401
