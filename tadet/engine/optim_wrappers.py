"""Optimizer wrappers."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from tadet.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``--amp`` on a machine without CUDA: bfloat16 autocast on the CPU.

    mmengine's ``AmpOptimWrapper`` needs CUDA; bf16 needs no loss scaling, so this wrapper only
    enters ``torch.autocast('cpu', dtype=torch.bfloat16)`` around the forward pass.
    """

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield
