from .a2net_pyramid import A2NetPyramidNeck  # noqa: F401
