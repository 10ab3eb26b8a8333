from .conv_block import ConvBlock1d  # noqa: F401
from .boundary_mean_pool import BoundaryMeanPool1d, boundary_mean_pool_1d  # noqa: F401
from .edge_conv import EdgeConv1d, knn_indices  # noqa: F401
from .proposal_align import ProposalAlign1d  # noqa: F401
from .dilated_residual import DilatedResidualLayer  # noqa: F401
