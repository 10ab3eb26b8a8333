"""tadet: temporal action detection toolbox (OpenMMLab style).

Importing tadet applies the version compatibility fixes (see :mod:`tadet.utils.compat`) and
nothing else: compiled ops load lazily on first use.
"""
from .utils import compat as _compat  # noqa: F401  (applies fixes on import)
from .version import __version__

__all__ = ['__version__']
