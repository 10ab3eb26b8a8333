from .basic import CrossEntropyLoss, MSELoss, SmoothL1Loss, weight_reduce_loss  # noqa: F401
