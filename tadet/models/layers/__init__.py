from .conv_block import ConvBlock1d  # noqa: F401
from .boundary_mean_pool import BoundaryMeanPool1d, boundary_mean_pool_1d  # noqa: F401
