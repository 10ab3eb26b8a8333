from .conv_block import ConvBlock1d  # noqa: F401
