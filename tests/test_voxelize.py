"""Voxelization, alignment and scaling on shapes whose voxel answer is known."""

from __future__ import annotations

import manifold3d as m3d
import numpy as np
import pytest
import trimesh

from printability.config import VoxelConfig
from printability.geometry.normalize import principal_axes
from printability.geometry.voxelize import voxelize, voxelize_vertices


def to_trimesh(solid: m3d.Manifold) -> trimesh.Trimesh:
    mesh = solid.to_mesh()
    return trimesh.Trimesh(mesh.vert_properties[:, :3], mesh.tri_verts)


def random_rotation(seed: int) -> np.ndarray:
    return trimesh.transformations.random_rotation_matrix(np.random.default_rng(seed).random(3))


def test_axis_aligned_box_fills_exact_voxels():
    box = trimesh.creation.box((10.0, 6.0, 4.0))
    box.apply_translation((5.0, 3.0, 2.0))  # box on [0,10] x [0,6] x [0,4]
    grid = voxelize_vertices(box.vertices + 3.0, box.faces, 16)  # -> [3,13) x [3,9) x [3,7)
    expected = np.zeros((16, 16, 16), bool)
    expected[3:13, 3:9, 3:7] = True
    assert np.array_equal(grid, expected)


def test_internal_cavity_stays_empty():
    outer = m3d.Manifold.cube([20, 20, 20], center=True)
    part = to_trimesh(outer - m3d.Manifold.cube([8, 8, 8], center=True))
    grid, placement = voxelize(part, VoxelConfig(resolution=32, pitch_mm=1.0, align=False))
    assert placement.pitch_mm == 1.0
    assert grid.sum() == 20**3 - 8**3
    assert not grid[16, 16, 16]  # the cavity's centre


def test_non_convex_rotated_part_matches_contains():
    l_bracket = m3d.Manifold.cube([40, 10, 10]) + m3d.Manifold.cube([10, 10, 30])
    part = to_trimesh(l_bracket - m3d.Manifold.cylinder(12, 3, 3, 32).translate([25, 5, -1]))
    part.apply_transform(random_rotation(4))
    config = VoxelConfig(resolution=32)
    grid, placement = voxelize(part, config)
    centres = placement.to_mm(np.argwhere(np.ones((32, 32, 32), bool)) + 0.5)
    truth = part.contains(centres).reshape(32, 32, 32)
    iou = (grid & truth).sum() / (grid | truth).sum()
    assert iou >= 0.99


def test_fit_to_grid_respects_margin_and_records_pitch():
    part = trimesh.creation.box((50.0, 30.0, 20.0))
    grid, placement = voxelize(part, VoxelConfig(resolution=64, margin_vox=4))
    filled = np.argwhere(grid)
    extent = filled.max(axis=0) - filled.min(axis=0) + 1
    assert extent.max() == 56  # 64 - 2 * 4
    assert filled.min() >= 4 and filled.max() <= 59
    assert placement.pitch_mm == pytest.approx(50.0 / 56)


def test_fixed_pitch_too_big_part_is_an_error():
    with pytest.raises(ValueError, match="holds"):
        voxelize(
            trimesh.creation.box((100.0, 10.0, 10.0)), VoxelConfig(resolution=32, pitch_mm=1.0)
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alignment_undoes_a_random_rotation(seed):
    box = trimesh.creation.box((40.0, 20.0, 10.0))
    box.apply_transform(random_rotation(seed))
    grid, _ = voxelize(box, VoxelConfig(resolution=64))
    filled = np.argwhere(grid)
    extent = filled.max(axis=0) - filled.min(axis=0) + 1
    # longest axis on x, shortest on z, at the 56-voxel fit: 56 x 28 x 14
    assert extent.tolist() == pytest.approx([56, 28, 14], abs=1)
    assert grid.sum() == pytest.approx(56 * 28 * 14, rel=0.03)


def test_principal_axes_are_a_rotation_and_sign_stable():
    part = to_trimesh(m3d.Manifold.cube([40, 10, 10]) + m3d.Manifold.cube([10, 10, 30]))
    _, axes = principal_axes(part)
    assert np.allclose(axes @ axes.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(axes) == pytest.approx(1.0)
    rotation = random_rotation(9)
    turned = part.copy()
    turned.apply_transform(rotation)
    _, turned_axes = principal_axes(turned)
    # the same body axes, carried along by the rotation (signs fixed by the third moment)
    assert np.allclose(turned_axes, axes @ rotation[:3, :3].T, atol=1e-6)


def test_fine_sphere_has_the_right_volume():
    # 82k faces: many triangles per voxel column, the parity must still come out right
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=20.0)
    grid, _ = voxelize(sphere, VoxelConfig(resolution=64))
    expected = 4 / 3 * np.pi * 28**3
    assert grid.sum() == pytest.approx(expected, rel=0.02)
