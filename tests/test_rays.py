"""The ray/triangle intersector (geometry/rays.py) on a hollow box of known walls: a 20 mm cube
with a 16 mm cube cavity at its centre, so every wall is 2 mm thick."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from printability.geometry.rays import RayTree, crossed, first_hits

UP = np.array([0.0, 0.0, 1.0])


def _hollow_box() -> tuple[trimesh.Trimesh, int]:
    """The hollow box (cavity faces turned inward) and the number of its outer faces (the
    cavity's come after them)."""
    outer = trimesh.creation.box((20.0, 20.0, 20.0))
    cavity = trimesh.creation.box((16.0, 16.0, 16.0))
    cavity.invert()
    return trimesh.util.concatenate([outer, cavity]), len(outer.faces)


def test_rays_into_each_wall_meet_the_cavity_two_mm_in():
    mesh, n_outer = _hollow_box()
    rng = np.random.default_rng(0)
    face = rng.integers(0, n_outer, 50)
    origins = np.asarray(mesh.triangles_center)[face]
    directions = -np.asarray(mesh.face_normals)[face]
    start = origins + 1e-6 * directions
    distance, hit = first_hits(start, directions, np.asarray(mesh.triangles))
    assert distance == pytest.approx(np.full(50, 2.0 - 1e-6), abs=1e-12)
    assert (hit >= n_outer).all()  # the cavity's faces
    tree_distance, tree_hit = RayTree(mesh.vertices, mesh.faces).first_hits(start, directions)
    assert tree_distance == pytest.approx(distance, abs=1e-5)  # single precision
    assert (tree_hit >= n_outer).all()


def test_rays_from_one_point_meet_the_cavity_where_the_geometry_says():
    mesh, n_outer = _hollow_box()
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(200, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    distance, hit = first_hits(np.zeros(3), directions, np.asarray(mesh.triangles))
    expected = 8.0 / np.abs(directions).max(axis=1)  # the cube of half-side 8 around the centre
    assert distance == pytest.approx(expected, rel=1e-12)
    assert (hit >= n_outer).all()
    many, _ = first_hits(np.zeros((200, 3)), directions, np.asarray(mesh.triangles))
    assert many == pytest.approx(distance, rel=1e-12)  # one point or many: the same distances


def test_edges_and_corners_count_and_rays_that_miss_are_inf():
    box = trimesh.creation.box((10.0, 10.0, 10.0))
    triangles = np.asarray(box.triangles)
    origins = np.array([[0.0, 0.0, 0.0], [4.999999, 5.0, 5.0], [0.0, 0.0, 20.0]])
    directions = np.array([np.ones(3) / np.sqrt(3), [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    distance, hit = first_hits(origins, directions, triangles)
    assert distance[0] == pytest.approx(5.0 * np.sqrt(3), rel=1e-12)  # to the corner
    assert distance[1] == pytest.approx(9.999999, rel=1e-12)  # along the top face to the far edge
    assert np.isinf(distance[2]) and hit[2] == -1  # away from the box
    assert (hit[:2] >= 0).all()
    none, index = first_hits(origins, directions, triangles[:0])
    assert np.isinf(none).all() and (index == -1).all()


def test_the_parity_of_crossings_tells_wall_from_cavity_from_outside():
    mesh, n_outer = _hollow_box()
    triangles = np.asarray(mesh.triangles)
    body = (np.arange(len(triangles)) >= n_outer).astype(int)  # 0: the outer box, 1: the cavity
    jitter = np.array([1.3e-6, 1.1e-6, 0.0])  # off the diagonals of the boxes' faces
    for point, inside_outer, inside_cavity in [
        ((9.0, 0.0, 0.0), True, False),  # in the wall
        ((0.0, 0.0, 0.0), True, True),  # in the cavity
        ((12.0, 0.0, 0.0), False, False),  # outside
        ((3.0, -4.0, -8.5), True, False),  # in the floor, under the cavity
    ]:
        hits = crossed(np.array(point) + jitter, UP, triangles)
        odd = np.bincount(body[hits], minlength=2) % 2 == 1
        assert tuple(odd) == (inside_outer, inside_cavity), point
