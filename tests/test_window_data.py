"""Training windows cut from a bigger grid, as `check` cuts them from a large part."""

from __future__ import annotations

import json

import numpy as np
import pytest

from printability.config import GenerateConfig, VoxelConfig
from printability.data import open_dataset
from printability.data.generate import generate
from printability.data.inputs import encode_input
from printability.data.windows import cut_window, is_window_part, window_corner


def test_window_parts_are_a_stable_share_of_the_indices():
    config = GenerateConfig(window_fraction=0.25, seed=4)
    picked = [is_window_part(i, config) for i in range(2000)]
    assert 0.22 < np.mean(picked) < 0.28
    assert picked == [is_window_part(i, config) for i in range(2000)]
    assert not any(is_window_part(i, GenerateConfig()) for i in range(100))
    with pytest.raises(ValueError, match="window_fraction"):
        GenerateConfig(window_fraction=1.5)
    with pytest.raises(ValueError, match="pitch"):
        GenerateConfig(window_fraction=0.5, voxel=VoxelConfig(pitch_mm=1.0))


def test_the_window_holds_the_focus_on_block_corners():
    rng = np.random.default_rng(0)
    for _ in range(50):
        lo = rng.integers(0, 90, 3)
        focus = np.stack([lo, lo + rng.integers(0, 30, 3)])
        corner = window_corner(focus, (128, 128, 128), 64, 4, rng)
        assert (corner % 4 == 0).all() and (corner >= 0).all() and (corner + 64 <= 128).all()
        assert (corner <= focus.min(axis=0)).all() and (focus.max(axis=0) < corner + 64).all()
    wide = np.array([[0, 0, 0], [100, 10, 10]])  # wider than the window along x: centred
    corner = window_corner(wide, (128, 128, 128), 64, 4, rng)
    assert corner[0] == 16


def test_a_window_is_cut_from_the_whole_grid_and_its_input_sees_beyond_its_faces():
    solid = np.zeros((96, 96, 96), bool)
    solid[8:88, 8:88, 30:60] = True  # a slab much wider than the window
    mask = np.zeros_like(solid)
    mask[40:44, 40:44, 30:60] = True  # a stand-in defect in the middle of the slab
    window = cut_window(solid, mask, mask, 64, ("distance_quarter",), "distance_quarter",
                        np.random.default_rng(1))  # fmt: skip
    corner = -window.shift.astype(int)  # the 96^3 grid needs no padding for a 64^3 window
    cut = tuple(slice(c, c + 64) for c in corner)
    assert np.array_equal(window.voxels, solid[cut])
    assert window.mask.sum() == mask.sum()  # the defect lies whole in the window
    whole = encode_input(solid, "distance_quarter")
    half = tuple(slice(c // 2, c // 2 + 32) for c in corner)
    assert np.array_equal(window.inputs["distance_quarter"], whole[(slice(None), *half)])
    alone = encode_input(window.voxels, "distance_quarter")
    assert not np.array_equal(window.inputs["distance_quarter"], alone)  # cut faces differ


def test_a_dataset_of_window_parts(tmp_path):
    config = GenerateConfig(count=16, seed=2, window_fraction=1.0,
                            voxel=VoxelConfig(resolution=32))  # fmt: skip
    generate(config, tmp_path / "w", workers=1, progress=False)
    ds = open_dataset(tmp_path / "w")
    assert len(ds) == 16
    for i, r in enumerate(ds.records):
        voxels, _ = ds[i]
        assert r["source"] == "window" and voxels.shape == (32, 32, 32)
        assert json.loads(r["part_params"])["window_grid"] > 32
        assert voxels.any() and not voxels.all()
        if r["defect"] in ("small_hole", "thin_wall"):
            assert ds.defect_mask(i).any()  # the defect is in the window
        if r["defect"] != "no_defect":
            centre = np.array([r[f"hole_center_{a}"] for a in "xyz"])
            assert ((centre > -1) & (centre < 33)).all()
