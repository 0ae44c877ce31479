"""FastNet: a network on the 64^3 occupancy grid itself, small enough to train on two CPU cores."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from printability.models.base import VoxelNet
from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class FullResolutionStem(nn.Module):
    """3^3 conv over every voxel, then 2x max-pool, then BatchNorm + ReLU, computed in fp32.

    Why: the defects are walls of 1-2 voxels and holes of 3-6. A cheaper first layer (stride-2
    conv, 4^3 patches, space-to-depth, fixed average/max/min pooling of the input) does not fit even
    256 training samples (bench/first_layers.py); a filter that sees every voxel, followed by a
    max over each 2^3 block, learns them at once. Pooling before BatchNorm and ReLU (both
    monotone, so the max is the same up to BN's sign) halves the full-resolution passes, and
    oneDNN runs this single-input-channel conv faster in fp32 than in bf16, so autocast is
    switched off here.

    Inference (no gradients) computes the same numbers another way, faster for the whole network
    (bench/evaluate.py measures it): the conv at the 8 positions of each 2^3 pooling block is
    one stride-2 4^3 conv with 8x the output channels, the 3^3 kernel placed at each block
    position (`phase_kernels`), and the max-pool a max over those 8 channels, with no
    full-resolution output. In training its backward pass is slower than oneDNN's conv +
    max-pool pair, so training keeps the pair."""

    def __init__(self, channels: int, in_channels: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm3d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            # training: oneDNN's conv + max-pool pair is faster; the phase kernels are written
            # for the one-channel occupancy grid
            if torch.is_grad_enabled() or self.conv.in_channels > 1:
                pooled = F.max_pool3d(self.conv(x.float()), 2)
            else:
                pooled = conv3_maxpool2(x.float(), self.conv.weight)
            return torch.relu(self.norm(pooled))


# the 8 positions (z, y, x offsets) of a voxel inside its 2^3 pooling block
_BLOCK_POSITIONS = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]


def phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """(C, 1, 3, 3, 3) kernels -> (8C, 1, 4, 4, 4): kernel c shifted to each block position."""
    channels = weight.shape[0]
    stacked = weight.new_zeros(channels, 8, 1, 4, 4, 4)
    for k, (a, b, c) in enumerate(_BLOCK_POSITIONS):
        stacked[:, k, :, a : a + 3, b : b + 3, c : c + 3] = weight
    return stacked.reshape(channels * 8, 1, 4, 4, 4)


def conv3_maxpool2(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """max_pool3d(conv3d(x, weight, padding=1), 2) for a one-channel x, computed as a stride-2
    conv with the phase kernels and a max over each block's 8 positions (no full-size output)."""
    return phase_conv_max(x, phase_kernels(weight))


def phase_conv_max(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The stride-2 conv with precomputed `phase_kernels` and the max over each block's 8
    positions (ONNX export keeps the kernels as a constant)."""
    channels = kernels.shape[0] // 8
    # one input channel is the same memory in either layout; plain strides make oneDNN take
    # the same path (and rounding) for both
    x = x.reshape(x.shape[0], *x.shape[2:]).unsqueeze(1)
    y = F.conv3d(x, kernels, stride=2, padding=1)
    blocks = y.view(y.shape[0], channels, 8, *y.shape[2:])
    if torch.is_grad_enabled() and (x.requires_grad or kernels.requires_grad):
        # max routes each gradient to one position, as max_pool3d does (amax splits ties)
        return blocks.max(2).values
    return blocks.amax(2)  # no indices to keep: several times faster


class FastNet(VoxelNet):
    """A 4-channel full-resolution stem, then 3^3 conv stages of 16/32/64/128 channels with 2x
    max-pools between them; global mean+max pool; FC 256-1. 292,885 parameters at width 1.

    The max in the global pool keeps one small defect from being averaged away over the part."""

    def __init__(self, width: float = 1.0, dropout: float = 0.3, in_channels: int = 1) -> None:
        super().__init__()
        c = [max(4, round(w * width)) for w in (4, 16, 32, 64, 128)]
        self.features = nn.Sequential(
            FullResolutionStem(c[0], in_channels),
            conv_bn_relu(c[0], c[1], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[1], c[2], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[2], c[3], 3),
            nn.MaxPool3d(2),
            conv_bn_relu(c[3], c[4], 3),
        )
        self.head = nn.Sequential(GlobalAvgMaxPool(), nn.Dropout(dropout), nn.Linear(2 * c[4], 1))

    def forward_features(self, x: torch.Tensor, with_located: bool = False) -> torch.Tensor:
        """(B, C, N, N, N) -> the last stage's map, N/16 cells per side."""
        if with_located:
            raise ValueError("FastNet has no defect-location head")
        return self.features(x)
