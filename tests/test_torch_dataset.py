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


def test_new_epochs_reach_persistent_workers(tmp_path):
    """DataLoader workers that live across epochs must still draw each epoch's symmetries."""
    from torch.utils.data import DataLoader

    out = tmp_path / "ds"
    generate(GenerateConfig(count=8, seed=4, voxel=VoxelConfig(resolution=32)), out, progress=False)
    data = VoxelTorchDataset(out, augment=True, seed=0)
    loader = DataLoader(data, batch_size=len(data), num_workers=1, persistent_workers=True)
    batches = []
    for epoch in range(3):
        data.set_epoch(epoch)
        batches.append(next(iter(loader))[0])
    assert not torch.equal(batches[0], batches[1]) and not torch.equal(batches[1], batches[2])
    data.set_epoch(1)
    assert torch.equal(next(iter(loader))[0], batches[1])


def test_distance_input_and_defect_cells_turn_together(tmp_path):
    out = tmp_path / "ds"
    generate(
        GenerateConfig(count=16, seed=2, voxel=VoxelConfig(resolution=32)), out, progress=False
    )
    plain = VoxelTorchDataset(out, input_name="distance_quarter", mask_size=4)
    turned = VoxelTorchDataset(out, input_name="distance_quarter", mask_size=4, augment=True)
    records = plain.data.records
    defect = next(i for i, r in enumerate(records) if r["defect"] == "small_hole")
    x, y, cells = plain[defect]
    assert x.shape == (21, 8, 8, 8) and y.item() == 0.0
    assert cells.shape == (4, 4, 4) and cells.sum() > 0  # the hole's cells
    printable = next(i for i, r in enumerate(records) if r["defect"] == "printable_hole")
    assert plain[printable][2].sum() == 0  # a printable hole is no defect
    k = int(np.random.default_rng([turned.seed, 0, defect]).integers(48))
    _, _, turned_cells = turned[defect]
    assert torch.equal(turned_cells, torch.from_numpy(cube_symmetry(cells.numpy(), k).copy()))


def test_a_fixed_symmetry_view_is_the_input_of_the_turned_grid(tmp_path):
    """Test-time augmentation's views: a block input's sub-block channels must turn with the
    grid, so a view is the network input computed from the turned grid, not the input turned."""
    from printability.data.inputs import DEFAULT_INPUT, model_input

    out = tmp_path / "ds"
    generate(GenerateConfig(count=4, seed=2, voxel=VoxelConfig(resolution=32)), out, progress=False)
    for k in (5, 30):
        view = VoxelTorchDataset(out, input_name=DEFAULT_INPUT, symmetry=k)
        grid, _ = view.data[view.indices[1]]
        expected = model_input(np.ascontiguousarray(cube_symmetry(grid, k)), DEFAULT_INPUT)
        np.testing.assert_array_equal(view[1][0].numpy(), expected)
