"""Vanilla3DCNN_large, the 2021 study's plain CNN (about 1.83M parameters)."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.base import VoxelNet
from printability.models.layers import conv_bn_relu, local_init_


class Vanilla3DCNN(VoxelNet):
    """Conv 9^3 32, 7^3 64, 5^3 96, 3^3 128, each with BN, ReLU and 2x max-pool; global average
    pool; FC 128-32-1. 1,830,369 parameters at width 1 on the occupancy grid (any resolution:
    the pools round up, so an 8^3 input, the distance input of a 32^3 grid, reaches 1^3).

    `cells`, a 1x1 conv on the second block's map, is an auxiliary output for training only
    (like GoogLeNet's auxiliary classifiers): the defect-location loss on it gives the early
    layers a gradient towards the defect (models/distnet.py says why that matters). The
    classification path is the study's."""

    def __init__(self, width: float = 1.0, dropout: float = 0.0, in_channels: int = 1) -> None:
        super().__init__()
        c = [max(1, round(w * width)) for w in (32, 64, 96, 128)]
        layers, c_in = [], in_channels
        for c_out, k in zip(c, (9, 7, 5, 3), strict=True):
            layers += [conv_bn_relu(c_in, c_out, k), nn.MaxPool3d(2, ceil_mode=True)]
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

        self.cells = nn.Conv3d(c[1], 1, 1)
        local_init_(self)

    def forward_features(
        self, x: torch.Tensor, with_located: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, n, n, n) -> the last block's pooled map; with `with_located`, also the second
        conv block's map (n/2 per side), which the auxiliary location head reads."""
        located = self.features[:3](x)
        features = self.features[3:](located)
        return (features, located) if with_located else features
