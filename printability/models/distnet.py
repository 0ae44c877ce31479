"""DistNet, the default model: reads the distance-field input at a quarter of the resolution."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.base import VoxelNet
from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class DistNet(VoxelNet):
    """Two 3^3 conv blocks of 32 channels at N/4 (the `distance_quarter` input of a 64^3 grid is
    16^3), a 2x max-pool, two 3^3 blocks of 64 at N/8; global mean+max pool; FC 128-1. A 1x1
    conv on the last block gives a defect logit per N/8 cell (`forward(x, cells=True)`), which
    training supervises with where the defect is (the generator's defect masks). 212,258
    parameters at width 1.

    Why the location head: a few cells decide the label of a whole part, and through the global
    pool alone the gradient that finds them is weak at first, and runs can sit at chance for
    many epochs on some seeds. A loss on the cells themselves gives every defect cell its own
    gradient (docs/benchmarks.md). It also makes the last block's map, the Grad-CAM layer, point
    at the defect."""

    def __init__(self, width: float = 1.0, dropout: float = 0.2, in_channels: int = 21) -> None:
        super().__init__()
        c = [max(4, round(w * width)) for w in (32, 64)]
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, c[0], 3),
            conv_bn_relu(c[0], c[0], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[0], c[1], 3),
            conv_bn_relu(c[1], c[1], 3),
        )
        self.head = nn.Sequential(GlobalAvgMaxPool(), nn.Dropout(dropout), nn.Linear(2 * c[1], 1))
        self.cells = nn.Conv3d(c[1], 1, 1)

    def forward_features(
        self, x: torch.Tensor, with_located: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, n, n, n) -> the last block's map, n/2 cells per side; with `with_located`, the
        map twice, as the location head reads it too."""
        features = self.features(x)
        return (features, features) if with_located else features
