"""Tests for the procedural printable base parts in printability.geometry.parts."""

import json

import numpy as np
import pytest
from scipy import ndimage

from printability.geometry.parts import PART_KINDS, PartLimits, make_part

SIZE = 100.0
GRID_64 = PartLimits(min_wall_mm=6 * SIZE / 56, min_hole_radius_mm=7.5 * SIZE / 56, size_mm=SIZE)
GRID_128 = PartLimits(min_wall_mm=3 * SIZE / 56, min_hole_radius_mm=3.75 * SIZE / 56, size_mm=SIZE)
SEEDS = range(5)


def _part(seed: int, limits: PartLimits, kind: str | None):
    return make_part(np.random.default_rng(seed), limits, kind)


@pytest.mark.parametrize("limits", [GRID_64, GRID_128], ids=["grid64", "grid128"])
@pytest.mark.parametrize("kind", PART_KINDS)
def test_parts_are_valid_compact_solids(kind: str, limits: PartLimits) -> None:
    for seed in SEEDS:
        mesh, params = _part(seed, limits, kind)
        assert mesh.is_watertight
        assert mesh.is_winding_consistent
        assert mesh.volume > 0
        assert len(mesh.split(only_watertight=False)) == 1
        extents = mesh.extents
        assert extents.max() == pytest.approx(SIZE, rel=1e-6)
        assert extents.min() >= 0.15 * SIZE - 1e-9
        assert np.abs(mesh.bounds.sum(axis=0)).max() < 1e-6 * SIZE  # centred on its bbox
        assert params["kind"] == kind
        assert json.loads(json.dumps(params)) == params
        assert len(params["holes"]) <= 4
        assert all(h["radius"] >= limits.min_hole_radius_mm for h in params["holes"])


@pytest.mark.parametrize("kind", PART_KINDS)
def test_deterministic_per_seed_and_varied_across_seeds(kind: str) -> None:
    a, pa = _part(7, GRID_128, kind)
    b, pb = _part(7, GRID_128, kind)
    c, pc = _part(8, GRID_128, kind)
    assert np.array_equal(a.vertices, b.vertices)
    assert np.array_equal(a.faces, b.faces)
    assert pa == pb
    assert pa != pc
    assert a.vertices.shape != c.vertices.shape or not np.allclose(a.vertices, c.vertices)


def test_random_kind_covers_all_kinds() -> None:
    kinds = {_part(seed, GRID_64, None)[1]["kind"] for seed in range(100)}
    assert kinds == set(PART_KINDS)


def test_unknown_kind_and_impossible_limits_raise() -> None:
    with pytest.raises(ValueError):
        _part(0, GRID_64, "teapot")
    with pytest.raises(ValueError):
        _part(0, PartLimits(min_wall_mm=30.0, min_hole_radius_mm=20.0), "plate")


def _ball(radius: float) -> np.ndarray:
    n = int(np.ceil(radius))
    grid = np.mgrid[-n : n + 1, -n : n + 1, -n : n + 1]
    return (grid**2).sum(axis=0) <= radius**2 + 1e-9


@pytest.mark.parametrize("kind", PART_KINDS)
def test_no_thin_walls_after_voxelization(kind: str) -> None:
    """Opening with a ball just under the wall limit may only shave corners, never walls."""
    pitch = SIZE / 56
    radius = (GRID_64.min_wall_mm / pitch) / 2 - 1
    mesh, _ = _part(0, GRID_64, kind)
    solid = np.pad(mesh.voxelized(pitch).fill().matrix, 4)
    opened = ndimage.binary_opening(solid, structure=_ball(radius))
    removed = solid & ~opened
    assert opened.sum() > 0.5 * solid.sum()
    if removed.any():
        assert ndimage.distance_transform_edt(~opened)[removed].max() <= 2
