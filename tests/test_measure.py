"""Hole walls and base-part checks on boxes whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_grid

from printability.geometry.measure import Hole, base_part_problems, hole_mask, measure_wall


def z_hole(x: float, radius: float = 6.0) -> Hole:
    """A hole along z through the 40x40x20 box, axis at (x, 32.3)."""
    return Hole(np.array([x, 32.3, 32.0]), np.array([0.0, 0.0, 1.0]), radius)


@pytest.mark.parametrize(
    "x, wall", [(24.0, 6.0), (22.0, 4.0), (21.0, 3.0), (20.0, 2.0), (19.0, 1.0)]
)
def test_wall_of_axis_aligned_hole_is_exact(x, wall):
    # box spans x in [12, 52): the wall to the x=12 face is x - 12 - radius
    m = measure_wall(box_grid(), z_hole(x), rim=10, cap=10)
    assert m.wall_vox == pytest.approx(wall, abs=0.26)
    assert not m.is_open
    assert m.length_vox == pytest.approx(20, abs=1)


def test_centred_hole_wall_is_capped():
    m = measure_wall(box_grid(), z_hole(32.0), rim=10, cap=10)
    assert m.wall_vox == 10


def test_hole_breaking_through_the_side_is_open():
    m = measure_wall(box_grid(), z_hole(15.0), rim=10, cap=10)
    assert m.is_open


def test_hole_missing_the_part():
    m = measure_wall(box_grid(), z_hole(4.0, radius=2.0), rim=10, cap=10)
    assert m.misses


@pytest.mark.parametrize("degrees", [20, 40, 55])
def test_oblique_exit_rim_is_not_a_thin_wall(degrees):
    # A hole through the middle of a 60-voxel cube, tilted: its exits through the top and bottom
    # faces leave thin wedges, which must not count as a wall.
    grid = box_grid((2, 2, 2), (62, 62, 62))
    a = np.radians(degrees)
    hole = Hole(np.array([32.0, 32.0, 32.0]), np.array([np.sin(a), 0.0, np.cos(a)]), 6.0)
    m = measure_wall(grid, hole, rim=10, cap=10)
    assert m.wall_vox >= 8


def test_hole_mask_radius():
    mask = hole_mask((64, 64, 64), z_hole(32.0, radius=6.0))
    area = mask[:, :, 30].sum()
    assert area == pytest.approx(np.pi * 36, rel=0.1)
    assert mask[:, :, 0].sum() == area  # an infinite line: same section everywhere


def test_plain_box_is_printable(seed_thresholds):
    assert base_part_problems(box_grid(), seed_thresholds) == []


def test_thin_plate_is_flagged(seed_thresholds):
    problems = base_part_problems(box_grid((12, 12, 30), (52, 52, 33)), seed_thresholds)
    assert any("wall" in p for p in problems)


def test_narrow_slot_is_flagged(seed_thresholds):
    grid = box_grid()
    grid[29:35, 12:40, 22:42] = False  # a 6-voxel slot cut in from one side
    problems = base_part_problems(grid, seed_thresholds)
    assert any("hole" in p for p in problems)


def test_small_existing_hole_is_flagged_and_big_one_is_not(seed_thresholds):
    small = box_grid() & ~hole_mask((64, 64, 64), z_hole(32.0, radius=3.0))
    big = box_grid() & ~hole_mask((64, 64, 64), z_hole(32.0, radius=8.0))
    assert base_part_problems(small, seed_thresholds)
    assert base_part_problems(big, seed_thresholds) == []


def test_concave_edges_and_pockets_are_not_holes(seed_thresholds):
    l_shape = box_grid((8, 8, 8), (56, 56, 20)) | box_grid((8, 8, 8), (20, 56, 56))
    pocket = box_grid((4, 4, 4), (60, 60, 40))
    pocket[14:50, 14:50, 20:40] = False  # a 36 x 36 x 20 blind pocket with a 16-voxel floor
    assert base_part_problems(l_shape, seed_thresholds) == []
    assert base_part_problems(pocket, seed_thresholds) == []


def test_enclosed_cavity_is_flagged(seed_thresholds):
    grid = box_grid((8, 8, 8), (56, 56, 56))
    grid[30:35, 30:35, 30:35] = False
    assert any("cavity" in p for p in base_part_problems(grid, seed_thresholds))


def test_rim_exclusion_keeps_the_middle_of_each_stretch():
    from printability.geometry.measure import _away_from_rims

    column = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0], bool)[:, None]
    kept = _away_from_rims(column, rim_steps=2)[:, 0]
    # stretch 1..7 keeps 3..5; stretch 9..10 (too short) keeps its middle; 12..14 keeps 13
    assert np.flatnonzero(kept).tolist() == [3, 4, 5, 9, 10, 13]


def test_thin_patch_extent_along_and_around():
    from printability.geometry.measure import N_ANGLES, T_STEP, thin_patch_extent

    rays = np.zeros((40, N_ANGLES), bool)
    assert thin_patch_extent(rays, 6.0) == 0.0
    arc = 2 * np.pi * 6.0 / N_ANGLES
    rays[10, 5] = True  # one ray: a spot
    assert thin_patch_extent(rays, 6.0) == pytest.approx(arc)
    rays[10:22, 5] = True  # a strip along the hole, 12 cross-sections
    assert thin_patch_extent(rays, 6.0) == pytest.approx(12 * T_STEP)
    around = np.zeros((40, N_ANGLES), bool)
    around[3, [0, 1, 2, N_ANGLES - 2, N_ANGLES - 1]] = True  # across the seam at angle 0
    assert thin_patch_extent(around, 6.0) == pytest.approx(5 * arc)


@pytest.mark.parametrize("x, thin", [(19.0, True), (24.0, False)])
def test_a_hole_along_a_face_is_thin_all_along(x, thin):
    # a hole along z, 1 voxel from the x = 12 face over the box's 20 voxels of height: the thin
    # patch runs its whole length between the rims
    m = measure_wall(box_grid(), z_hole(x), rim=4, cap=10, thin=2.0)
    if thin:
        assert m.thin_extent_vox >= 8
        assert len(m.thin_voxels) and (m.thin_voxels[:, 0] <= 13).all()  # the wall, x 12..13
    else:
        assert m.thin_extent_vox == 0.0 and len(m.thin_voxels) == 0
