"""Shared fixtures: small analytic solids whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from printability.config import GenerateConfig, VoxelConfig, get_preset


@pytest.fixture
def seed_thresholds():
    """The seed2021 preset at 64^3: r_p 6, r_np 3, b_p 4, b_np 2 voxels."""
    return get_preset("seed2021").at_resolution(64)


def box_grid(lo=(12, 12, 22), hi=(52, 52, 42), n=64) -> np.ndarray:
    """A solid box of voxels [lo, hi) in an n^3 grid (default 40 x 40 x 20)."""
    grid = np.zeros((n, n, n), bool)
    grid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = True
    return grid


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> Path:
    """A tiny generated dataset for training tests: 160 samples at 40^3 (40 per class)."""
    from printability.data.generate import generate

    out = tmp_path_factory.mktemp("train") / "data"
    generate(
        GenerateConfig(count=160, seed=11, voxel=VoxelConfig(resolution=40)),
        out,
        workers=2,
        progress=False,
    )
    return out
