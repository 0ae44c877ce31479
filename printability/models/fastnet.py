"""FastNet, the default model: small enough to train at 64^3 on two CPU cores."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class FastNet(nn.Module):
    """A thin full-resolution stem (3^3 conv, 8 channels), then 2x max-pool and 3^3 conv stages
    of 32/64/128 channels; global mean+max pool; FC 256-1. 300,337 parameters at width 1.

    Why this shape: the defects are 1-2 voxel walls and 2-4 voxel holes. A first layer with
    stride 2 (tried first) sat at chance for epochs; a stem that sees every voxel at full
    resolution, followed by max-pooling (which keeps a thin feature where averaging or striding
    would drop it), learns them quickly. The max in the global pool keeps one small defect
    from being averaged away over the part."""

    def __init__(self, width: float = 1.0, dropout: float = 0.1) -> None:
        super().__init__()
        c = [max(4, round(w * width)) for w in (8, 32, 64, 128)]
        self.features = nn.Sequential(
            conv_bn_relu(1, c[0], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[0], c[1], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[1], c[2], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[2], c[3], 3),
        )
        self.head = nn.Sequential(GlobalAvgMaxPool(), nn.Dropout(dropout), nn.Linear(2 * c[3], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
