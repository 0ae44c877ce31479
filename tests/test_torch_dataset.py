"""The torch view of a dataset and its 48 cube symmetries."""

from __future__ import annotations

import numpy as np
import torch

from printability.config import GenerateConfig, VoxelConfig
from printability.data.generate import generate
from printability.data.torch_dataset import CUBE_SYMMETRIES, VoxelTorchDataset, cube_symmetry


def test_the_48_symmetries_are_distinct_and_exact():
    rng = np.random.default_rng(0)
    grid = rng.random((6, 6, 6)) > 0.5  # no symmetry of its own
    images = {cube_symmetry(grid, k).tobytes() for k in range(48)}
    assert len(CUBE_SYMMETRIES) == 48 and len(images) == 48
    assert np.array_equal(cube_symmetry(grid, 0), grid)
    assert all(cube_symmetry(grid, k).sum() == grid.sum() for k in range(48))


def test_split_items_and_augmentation(tmp_path):
    out = tmp_path / "ds"
    generate(
        GenerateConfig(count=40, seed=4, voxel=VoxelConfig(resolution=40)), out, progress=False
    )
    plain = VoxelTorchDataset(out, split="train")
    augmented = VoxelTorchDataset(out, split="train", augment=True, seed=1)
    x, y = plain[0]
    assert x.shape == (1, 40, 40, 40) and x.dtype == torch.float32
    assert y.item() in (0.0, 1.0)
    assert len(plain) == sum(r["split"] == "train" for r in plain.data.records)
    assert set(plain.labels()) <= {0, 1}
    # the same sample, turned: same voxel count, usually another arrangement
    turned = [augmented[i][0] for i in range(len(augmented))]
    assert all(t.sum() == plain[i][0].sum() for i, t in enumerate(turned))
    assert any(not torch.equal(t, plain[i][0]) for i, t in enumerate(turned))
    # repeatable per epoch, different across epochs
    again = VoxelTorchDataset(out, split="train", augment=True, seed=1)
    assert torch.equal(again[3][0], turned[3])
    again.set_epoch(1)
    assert any(not torch.equal(again[i][0], turned[i]) for i in range(len(again)))
