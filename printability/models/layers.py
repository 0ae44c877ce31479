"""Small building blocks shared by the model families."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Conv3d ('same' padding for odd kernels) + BatchNorm3d + ReLU."""
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class GlobalAvgMaxPool(nn.Module):
    """Mean and max over the whole grid, concatenated: (B, C, D, H, W) -> (B, 2C).

    Max keeps a small, local defect visible; mean alone would dilute it over the part."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], dim=1)
