from .hooks import EpochSeedHook, FiniteLossHook, NonFiniteLossError
from .optim_wrappers import CPUAutocastOptimWrapper

__all__ = ['CPUAutocastOptimWrapper', 'EpochSeedHook', 'FiniteLossHook', 'NonFiniteLossError']
