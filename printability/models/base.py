"""The contract every registry network follows: a feature map, then a head, and for networks
with a location head the map that head reads, so that one `forward` serves them all."""

from __future__ import annotations

import torch
from torch import nn


class VoxelNet(nn.Module):
    """A 3D CNN from a network input (B, C, n, n, n) to one logit per sample (B,), in two steps:
    `forward_features(x)`, the last conv map (B, C', m, m, m) that the head pools, and
    `forward_head(features)`, the global pool and classifier (`self.head`).

    A network with a defect-location head (registry `locates`, a 1x1 conv `self.cells`) also
    answers `forward_features(x, with_located=True)` with (features, the map that head reads),
    and so `forward(x, cells=True)` with (logits, defect logits per cell of that map)."""

    head: nn.Module

    def forward_features(
        self, x: torch.Tensor, with_located: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The last conv map -> logits (B,)."""
        return self.head(features).squeeze(1)

    def forward_cells(self, located: torch.Tensor) -> torch.Tensor:
        """The map the location head reads -> defect logits per cell (B, m, m, m)."""
        return self.cells(located).squeeze(1)

    def forward(
        self, x: torch.Tensor, cells: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, n, n, n) -> logits (B,); with `cells`, also the defect logits per cell."""
        if not cells:
            return self.forward_head(self.forward_features(x))
        features, located = self.forward_features(x, with_located=True)
        # the classifier before the location head: their order sets the order in which autograd
        # sums their gradients, and so a run's exact weights for a given seed
        logits = self.forward_head(features)
        return logits, self.forward_cells(located)
