"""FastNet, the default model: small enough to train at 64^3 on two CPU cores."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class FastNet(nn.Module):
    """Four stride-2 stages (3^3 conv, BN, ReLU; a second 3^3 conv from the second stage on),
    widths 16/32/64/128; global mean+max pool; FC 256-1. 872,529 parameters at width 1.

    Every voxel reaches the first conv, so 1-voxel walls are seen before any downsampling;
    the max in the pool keeps one small defect from being averaged away."""

    def __init__(self, width: float = 1.0, dropout: float = 0.1) -> None:
        super().__init__()
        c = [max(4, round(w * width)) for w in (16, 32, 64, 128)]
        stages, c_in = [], 1
        for i, c_out in enumerate(c):
            stage = [conv_bn_relu(c_in, c_out, 3, stride=2)]
            if i > 0:
                stage.append(conv_bn_relu(c_out, c_out, 3))
            stages.append(nn.Sequential(*stage))
            c_in = c_out
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(GlobalAvgMaxPool(), nn.Dropout(dropout), nn.Linear(2 * c_in, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
