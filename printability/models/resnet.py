"""ResNet_small, the 2021 study's residual network (about 8.2M parameters)."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.base import VoxelNet
from printability.models.layers import local_init_


class BasicBlock3d(nn.Module):
    """Two 3^3 convs with BN and a shortcut (1x1 conv when the shape changes), Dropout3d."""

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True),
            nn.Dropout3d(dropout),
            nn.Conv3d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm3d(c_out),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv3d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm3d(c_out)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNetSmall(VoxelNet):
    """Stem conv 5^3 stride 2 (64); stages 64/128/256 of two basic blocks (stride 2 from the
    second stage) with Dropout3d 0.3; global average pool; FC 256-1. 8,237,505 parameters.

    `cells`, a 1x1 conv on the first stage's map, is an auxiliary output for training only (see
    Vanilla3DCNN); the classification path is the study's."""

    def __init__(self, width: float = 1.0, dropout: float = 0.3, in_channels: int = 1) -> None:
        super().__init__()
        c = [max(1, round(w * width)) for w in (64, 128, 256)]
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, c[0], 5, stride=2, padding=2, bias=False),
            nn.BatchNorm3d(c[0]),
            nn.ReLU(inplace=True),
        )
        blocks, c_in = [], c[0]
        for i, c_out in enumerate(c):
            stride = 1 if i == 0 else 2
            blocks += [
                BasicBlock3d(c_in, c_out, stride, dropout),
                BasicBlock3d(c_out, c_out, 1, dropout),
            ]
            c_in = c_out
        self.stages = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(c_in, 1))

        self.cells = nn.Conv3d(c[0], 1, 1)
        local_init_(self)

    def forward_features(
        self, x: torch.Tensor, with_located: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, n, n, n) -> the last stage's map; with `with_located`, also the first stage's
        map (n/2 per side), which the auxiliary location head reads."""
        located = self.stages[:2](self.stem(x))
        features = self.stages[2:](located)
        return (features, located) if with_located else features
