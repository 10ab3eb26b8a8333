from .a2net_pyramid import A2NetPyramidNeck  # noqa: F401
from .afsd_pyramid import AFSDFrameLevelBranch, AFSDPyramidNeck  # noqa: F401
from .bmn_encoder import BMNEncoder  # noqa: F401
from .segtad_ssn import SegTADPAG, SegTADSSN  # noqa: F401
from .gcnext import GCNeXt, GCNeXtEncoder  # noqa: F401
