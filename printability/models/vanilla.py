"""Vanilla3DCNN_large, the 2021 study's plain CNN (about 1.83M parameters)."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.layers import conv_bn_relu


class Vanilla3DCNN(nn.Module):
    """Conv 9^3 32, 7^3 64, 5^3 96, 3^3 128, each with BN, ReLU and 2x max-pool; global average
    pool; FC 128-32-1. 1,830,369 parameters at width 1 (any resolution)."""

    def __init__(self, width: float = 1.0, dropout: float = 0.0, in_channels: int = 1) -> None:
        super().__init__()
        c = [max(1, round(w * width)) for w in (32, 64, 96, 128)]
        layers, c_in = [], in_channels
        for c_out, k in zip(c, (9, 7, 5, 3), strict=True):
            layers += [conv_bn_relu(c_in, c_out, k), nn.MaxPool3d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(),
            nn.Linear(c_in, 32),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(32, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
