"""A torch Dataset over a dataset directory, with the 48 label-invariant symmetries of the cube.

Turning or mirroring a part does not change whether it can be printed, so every rotation and
reflection of the grid is a free, exact augmentation (no interpolation: axes are permuted and
flipped). The symmetry drawn for a sample depends only on (seed, epoch, index), so runs repeat.
A network input made of cubic blocks (data/inputs.py) turns with its grid, so the symmetry is
applied to the input itself, which is how the dataset stores it.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from printability.data.inputs import LEGACY_INPUT, decode_input, get_input
from printability.data.store import VoxelDataset, open_dataset

# (axis permutation, axes to flip) for all 6 x 8 = 48 symmetries; index 0 is the identity
CUBE_SYMMETRIES: list[tuple[tuple[int, int, int], tuple[int, ...]]] = [
    (perm, tuple(a for a, f in enumerate(flips) if f))
    for perm in itertools.permutations(range(3))
    for flips in itertools.product((False, True), repeat=3)
]


def cube_symmetry(voxels: np.ndarray, k: int) -> np.ndarray:
    """Apply symmetry k (0..47) to the last three axes of a grid (..., N, N, N)."""
    perm, flips = CUBE_SYMMETRIES[k]
    lead = voxels.ndim - 3
    out = np.transpose(voxels, (*range(lead), *(lead + a for a in perm)))
    return np.flip(out, axis=tuple(lead + a for a in flips)) if flips else out


class VoxelTorchDataset(Dataset):
    """(input float tensor (C, n, n, n), float label) pairs of one split, optionally augmented.

    `input_name` is the network input (data/inputs.py; the voxel grid itself by default). With
    `mask_size` m, each item also carries the sample's defect mask as an (m, m, m) float tensor:
    1 where a cell of the grid cut into m^3 cells holds a voxel of the defect (store.defect_mask),
    the target of a network's defect-location head. Without `augment`, every item is seen under
    the fixed `symmetry` (0..47; 0 is the grid as stored): test-time augmentation's views."""

    def __init__(
        self,
        source: str | Path | VoxelDataset,
        split: str | None = None,
        augment: bool = False,
        seed: int = 0,
        input_name: str = LEGACY_INPUT,
        mask_size: int | None = None,
        symmetry: int = 0,
    ) -> None:
        self.data = source if isinstance(source, VoxelDataset) else open_dataset(source)
        self.indices = [
            i for i, r in enumerate(self.data.records) if split is None or r["split"] == split
        ]
        self.augment = augment
        self.seed = seed
        # in shared memory: DataLoader workers, persistent ones included, see set_epoch
        self._epoch = mp.Value("q", 0, lock=False)
        self.input_name = get_input(input_name).name
        if mask_size is not None and self.data.resolution % mask_size:
            raise ValueError(
                f"a {self.data.resolution}^3 grid does not cut into {mask_size}^3 mask cells"
            )
        self.mask_size = mask_size
        if not 0 <= symmetry < len(CUBE_SYMMETRIES):
            raise ValueError(f"symmetry must be 0..{len(CUBE_SYMMETRIES) - 1}, got {symmetry}")
        self.symmetry = symmetry
        self._cells: dict[int, np.ndarray] = {}

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        """Draw new symmetries for a new epoch (call it like DistributedSampler.set_epoch); the
        epoch lives in shared memory, so DataLoader workers started earlier see it too."""
        self._epoch.value = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        index = self.indices[i]
        codes = self.data.input_codes(index, self.input_name)
        label = torch.tensor(float(self.data.records[index]["label"]))
        k = (
            int(np.random.default_rng([self.seed, self.epoch, i]).integers(48))
            if self.augment
            else self.symmetry
        )
        x = torch.from_numpy(
            np.ascontiguousarray(decode_input(cube_symmetry(codes, k), self.input_name))
        )
        if self.mask_size is None:
            return x, label
        cells = self._mask_cells(index)
        return x, label, torch.from_numpy(np.ascontiguousarray(cube_symmetry(cells, k)))

    def _mask_cells(self, index: int) -> np.ndarray:
        """The defect mask pooled to mask_size^3 cells: 1.0 where a cell holds a defect voxel
        (kept: a few hundred bytes a sample)."""
        if index not in self._cells:
            m, b = self.mask_size, self.data.resolution // self.mask_size
            cells = np.zeros((m, m, m), np.float32)
            cells[tuple((self.data.defect_voxels(index) // b).T)] = 1.0
            self._cells[index] = cells
        return self._cells[index]

    def labels(self) -> np.ndarray:
        """The labels of this split, in order (for class balance and metrics)."""
        return np.array([self.data.records[i]["label"] for i in self.indices])
