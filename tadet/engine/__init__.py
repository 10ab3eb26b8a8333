from .hooks import EpochSeedHook, FiniteLossHook, NonFiniteLossError
from .log_processor import TADLogProcessor
from .optim_wrappers import CPUAutocastOptimWrapper

__all__ = ['CPUAutocastOptimWrapper', 'EpochSeedHook', 'FiniteLossHook', 'NonFiniteLossError',
           'TADLogProcessor']
