"""FastNet, the default model: small enough to train at 64^3 on two CPU cores."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class FullResolutionStem(nn.Module):
    """3^3 conv over every voxel, then 2x max-pool, then BatchNorm + ReLU, computed in fp32.

    Why: the defects are 1-2 voxel walls and 2-4 voxel holes. Every cheaper first layer we tried
    (stride-2 conv, 4^3 patches, space-to-depth, fixed average/max/min pooling of the input) could
    not even fit 256 training samples; a filter that sees every voxel, followed by a max over
    each 2^3 block, learns them at once. Pooling before BatchNorm and ReLU (both monotone, so the
    max is the same up to BN's sign) halves the full-resolution passes, and oneDNN runs this
    single-input-channel conv faster in fp32 than in bf16, so autocast is switched off here."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, channels, 3, padding=1, bias=False)
        self.pool = nn.MaxPool3d(2)
        self.norm = nn.BatchNorm3d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return torch.relu(self.norm(self.pool(self.conv(x.float()))))


class FastNet(nn.Module):
    """A 4-channel full-resolution stem, then 3^3 conv stages of 16/32/64/128 channels with 2x
    max-pools between them; global mean+max pool; FC 256-1. 292,885 parameters at width 1.

    The max in the global pool keeps one small defect from being averaged away over the part."""

    def __init__(self, width: float = 1.0, dropout: float = 0.3) -> None:
        super().__init__()
        c = [max(4, round(w * width)) for w in (4, 16, 32, 64, 128)]
        self.features = nn.Sequential(
            FullResolutionStem(c[0]),
            conv_bn_relu(c[0], c[1], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[1], c[2], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[2], c[3], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[3], c[4], 3),
        )
        self.head = nn.Sequential(GlobalAvgMaxPool(), nn.Dropout(dropout), nn.Linear(2 * c[4], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
