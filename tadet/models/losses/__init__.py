from .basic import CrossEntropyLoss, MSELoss, SmoothL1Loss, weight_reduce_loss  # noqa: F401
from .bce_loss import BinaryCrossEntropyLoss  # noqa: F401
from .boundary_consistency_loss import (ActivationGuidedBoundaryLoss,  # noqa: F401
                                        BoundaryContrastiveLoss)
from .focal_loss import SoftmaxFocalLoss  # noqa: F401
from .l1_loss import L1Loss  # noqa: F401
from .tiou_loss import TIoULoss  # noqa: F401
from .balanced_bce_loss import BalancedBCELoss  # noqa: F401
