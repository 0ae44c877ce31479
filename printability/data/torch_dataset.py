"""A torch Dataset over a dataset directory, with the 48 label-invariant symmetries of the cube.

Turning or mirroring a part does not change whether it can be printed, so every rotation and
reflection of the grid is a free, exact augmentation (no interpolation: axes are permuted and
flipped). The symmetry drawn for a sample depends only on (seed, epoch, index), so runs repeat.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from printability.data.store import VoxelDataset, open_dataset

# (axis permutation, axes to flip) for all 6 x 8 = 48 symmetries; index 0 is the identity
CUBE_SYMMETRIES: list[tuple[tuple[int, int, int], tuple[int, ...]]] = [
    (perm, tuple(a for a, f in enumerate(flips) if f))
    for perm in itertools.permutations(range(3))
    for flips in itertools.product((False, True), repeat=3)
]


def cube_symmetry(voxels: np.ndarray, k: int) -> np.ndarray:
    """Apply symmetry k (0..47) to an (N, N, N) grid."""
    perm, flips = CUBE_SYMMETRIES[k]
    out = np.transpose(voxels, perm)
    return np.flip(out, axis=flips) if flips else out


class VoxelTorchDataset(Dataset):
    """(float tensor (1, N, N, N), float label) pairs of one split, optionally augmented."""

    def __init__(
        self,
        source: str | Path | VoxelDataset,
        split: str | None = None,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        self.data = source if isinstance(source, VoxelDataset) else open_dataset(source)
        self.indices = [
            i for i, r in enumerate(self.data.records) if split is None or r["split"] == split
        ]
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new symmetries for a new epoch (call it like DistributedSampler.set_epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        voxels, record = self.data[self.indices[i]]
        if self.augment:
            k = int(np.random.default_rng([self.seed, self.epoch, i]).integers(48))
            voxels = cube_symmetry(voxels, k)
        x = torch.from_numpy(np.ascontiguousarray(voxels, dtype=np.float32))[None]
        return x, torch.tensor(float(record["label"]))

    def labels(self) -> np.ndarray:
        """The labels of this split, in order (for class balance and metrics)."""
        return np.array([self.data.records[i]["label"] for i in self.indices])
