"""Tests for the procedural printable base parts: the CAD kinds (printable by construction)
and the free-form families (checked in voxels by the generator)."""

import json

import numpy as np
import pytest
from scipy import ndimage

from printability.config import GenerateConfig, VoxelConfig
from printability.data.generate import PartRejected, make_part_samples, procedural_base
from printability.geometry.measure import base_part_problems
from printability.geometry.parts import (
    CAD_KINDS,
    FAMILY_KINDS,
    PART_KINDS,
    PartLimits,
    make_part,
    part_descriptions,
)

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
        bodies = len(mesh.split(only_watertight=False))
        assert bodies == 1 or (kind == "assembly" and bodies <= 3)
        extents = mesh.extents
        assert extents.max() == pytest.approx(SIZE, rel=1e-6)
        assert extents.min() >= 0.15 * SIZE - 1e-9
        assert np.abs(mesh.bounds.sum(axis=0)).max() < 1e-6 * SIZE  # centred on its bbox
        assert params["kind"] == kind
        assert json.loads(json.dumps(params)) == params
        assert len(params["holes"]) <= 4
        if kind in CAD_KINDS:  # designed at their final size; free-form ones are checked
            assert params["scale"] == pytest.approx(1.0)
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


def test_random_kind_covers_all_kinds_and_can_be_narrowed() -> None:
    kinds = {_part(seed, GRID_64, None)[1]["kind"] for seed in range(200)}
    assert kinds == set(PART_KINDS)
    few = ("blob", "plate")
    drawn = {make_part(np.random.default_rng(s), GRID_64, kinds=few)[1]["kind"] for s in range(20)}
    assert drawn == set(few)


def test_every_family_is_described() -> None:
    text = part_descriptions()
    assert list(text) == list(PART_KINDS)
    assert all(len(line) > 10 for line in text.values())


def test_unknown_kind_and_impossible_limits_raise() -> None:
    with pytest.raises(ValueError):
        _part(0, GRID_64, "teapot")
    with pytest.raises(ValueError):
        _part(0, PartLimits(min_wall_mm=30.0, min_hole_radius_mm=20.0), "plate")


def _ball(radius: float) -> np.ndarray:
    n = int(np.ceil(radius))
    grid = np.mgrid[-n : n + 1, -n : n + 1, -n : n + 1]
    return (grid**2).sum(axis=0) <= radius**2 + 1e-9


@pytest.mark.parametrize("kind", CAD_KINDS)
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


GRID_32 = GenerateConfig(count=4, seed=3, voxel=VoxelConfig(resolution=32))


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_free_form_families_are_printable_once_checked(kind: str) -> None:
    """The generator keeps a free-form part only when the voxel check finds nothing, and most
    draws pass it (a family that rarely did would make generation crawl)."""
    index = PART_KINDS.index(kind)  # the families are drawn in turn by part index
    accepted = 0
    for attempt in range(6):
        rng = np.random.default_rng([GRID_32.seed, index, attempt])
        try:
            base = procedural_base(index, GRID_32, rng)
        except PartRejected as exc:
            assert str(exc).startswith(kind) or "limits" in str(exc)
            continue
        assert base.kind == kind
        assert base_part_problems(base.solid, GRID_32.thresholds) == []
        accepted += 1
    assert accepted >= 3


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_free_form_families_give_all_four_classes(kind: str) -> None:
    index = PART_KINDS.index(kind)
    outcome = make_part_samples(index, GRID_32, [], None)
    assert outcome.dropped is None
    assert [r["defect"] for r in outcome.rows] == [
        "no_defect", "printable_hole", "small_hole", "thin_wall"
    ]  # fmt: skip
    assert {r["part_kind"] for r in outcome.rows} == {kind}
