from .optim_wrappers import CPUAutocastOptimWrapper

__all__ = ['CPUAutocastOptimWrapper']
