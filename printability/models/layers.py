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


def local_init_(model: nn.Module, sigma: float = 1.0) -> nn.Module:
    """Centre-weight the initial weights of every Conv3d larger than 3^3: each kernel is
    multiplied by a Gaussian of `sigma` cells around its centre, then rescaled to the default
    initialisation's spread. Returns the model.

    Why: a defect is a few cells. With uniformly random weights a 9^3 kernel sums 729 offsets, and
    on the quarter-resolution input that is more than half of the part, so the part's bulk
    drowns the defect's response and the network stays at chance; centre-weighted kernels start
    as local detectors and widen as they learn (docs/benchmarks.md)."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d) and max(module.kernel_size) > 3:
            offsets = [
                torch.arange(k, dtype=torch.float32) - (k - 1) / 2 for k in module.kernel_size
            ]
            r2 = sum(
                o.reshape([-1 if i == axis else 1 for i in range(3)]) ** 2
                for axis, o in enumerate(offsets)
            )
            with torch.no_grad():
                spread = module.weight.std()
                module.weight.mul_(torch.exp(-r2 / (2 * sigma**2)))
                module.weight.mul_(spread / module.weight.std())
    return model
