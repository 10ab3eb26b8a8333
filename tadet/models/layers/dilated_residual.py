"""A dilated residual 1D conv layer (MS-TCN), shared by the snippet baseline and the snippet
classification head."""
import torch
import torch.nn as nn


class DilatedResidualLayer(nn.Module):
    """``x + conv1x1(ReLU(conv_k(x, dilation)))``, padded snippets zeroed (MS-TCN style).

    Args:
        channels: input = output channels.
        dilation: dilation of the ``kernel_size`` conv ("same" padding).
        kernel_size: odd temporal kernel.
        dropout: dropout before the residual sum.
    """

    def __init__(self, channels: int, dilation: int, kernel_size: int = 3,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, kernel_size,
                                      padding=dilation * (kernel_size - 1) // 2,
                                      dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x [B, C, T]``, ``mask [B, 1, T]`` float -> ``[B, C, T]``."""
        out = self.conv_1x1(torch.relu(self.conv_dilated(x)))
        # zero the padding so it never leaks into real snippets through the next dilations
        return (x + self.dropout(out)) * mask
