from .base import BaseTADDetector

__all__ = ['BaseTADDetector']
from .a2net import A2Net  # noqa: F401
from .afsd import AFSD  # noqa: F401
from .bmn import BMN  # noqa: F401
from .grid_proposal import GridProposalDetector  # noqa: F401
from .segtad import SegTAD  # noqa: F401
from .rcl import RCL  # noqa: F401
from .gtad import GTAD  # noqa: F401
from .snippet_baseline import SnippetBaseline  # noqa: F401
