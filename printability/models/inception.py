"""InceptionNet v1 and v3 in 3D, as in the 2021 study (about 9.3M and 17.9M parameters)."""

from __future__ import annotations

import torch
from torch import nn

from printability.models.base import VoxelNet
from printability.models.layers import conv_bn_relu, local_init_


class InceptionBlock3d(nn.Module):
    """Four parallel branches concatenated: 1^3 | 1^3 -> 3^3 | 1^3 -> 5^3 | 3^3 max-pool -> 1^3.

    v3 replaces every 5^3 conv by two 3^3 convs (same receptive field, fewer weights per
    channel), which lets its wide branch be wider."""

    def __init__(self, c_in: int, c_out: int, factorized: bool, wide: float) -> None:
        super().__init__()
        b1, b3, b5 = c_out // 4, c_out // 2, c_out // 8
        bp = c_out - b1 - b3 - b5
        r3, r5 = c_out // 7, max(8, round(c_out * wide / 16))
        self.branch1 = conv_bn_relu(c_in, b1, 1)
        self.branch3 = nn.Sequential(conv_bn_relu(c_in, r3, 1), conv_bn_relu(r3, b3, 3))
        if factorized:
            mid = max(8, round(b5 * wide))
            self.branch5 = nn.Sequential(
                conv_bn_relu(c_in, r5, 1), conv_bn_relu(r5, mid, 3), conv_bn_relu(mid, b5, 3)
            )
        else:
            self.branch5 = nn.Sequential(conv_bn_relu(c_in, r5, 1), conv_bn_relu(r5, b5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool3d(3, 1, 1), conv_bn_relu(c_in, bp, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([b(x) for b in branches], dim=1)


class InceptionNet3d(VoxelNet):
    """Stem conv 5^3 64, 5^3 64, 3^3 192 (stride 2 and max-pools); inception blocks of width
    256/512/1024/1024 with max-pools between; global average pool; FC 512-64-1.
    v1: 9,467,331 parameters; v3 (factorized 5^3, wider): 17,690,159.

    `cells`, a 1x1 conv on the stem's last conv, is an auxiliary output for training only (see
    Vanilla3DCNN; GoogLeNet trained with auxiliary classifiers for the same reason); the
    classification path is the study's."""

    def __init__(
        self, version: int = 1, width: float = 1.0, dropout: float = 0.4, in_channels: int = 1
    ) -> None:
        super().__init__()
        if version not in (1, 3):
            raise ValueError(f"InceptionNet version must be 1 or 3, got {version}")
        factorized = version == 3
        wide = 3.6 if factorized else 1.0
        c = [max(8, round(w * width)) for w in (64, 192, 256, 512, 1024, 1024)]
        self.stem = nn.Sequential(
            conv_bn_relu(in_channels, c[0], 5, stride=2),
            conv_bn_relu(c[0], c[0], 5),
            conv_bn_relu(c[0], c[1], 3),
            nn.MaxPool3d(2, ceil_mode=True),
        )
        self.blocks = nn.Sequential(
            InceptionBlock3d(c[1], c[2], factorized, wide),
            InceptionBlock3d(c[2], c[3], factorized, wide),
            nn.MaxPool3d(2, ceil_mode=True),
            InceptionBlock3d(c[3], c[4], factorized, wide),
            nn.MaxPool3d(2, ceil_mode=True),
            InceptionBlock3d(c[4], c[5], factorized, wide),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c[5], 512),
            nn.ReLU(inplace=True),
            nn.Linear(512, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 1),
        )

        self.cells = nn.Conv3d(c[1], 1, 1)
        local_init_(self)

    def forward_features(
        self, x: torch.Tensor, with_located: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, n, n, n) -> the last inception block's map; with `with_located`, also the
        stem's last conv map (n/2 per side), which the auxiliary location head reads."""
        located = self.stem[:3](x)
        features = self.blocks(self.stem[3:](located))
        return (features, located) if with_located else features
