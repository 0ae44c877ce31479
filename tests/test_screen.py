"""The ray screen (geometry/screen.py) and the windows it picks, on shapes with known sizes."""

from __future__ import annotations

import manifold3d
import numpy as np
import pytest
import trimesh

from printability.geometry.screen import ray_sizes
from printability.inspect.windows import screen_windows, spot_boxes


def _plate(holes: list[tuple[float, float, float]]) -> trimesh.Trimesh:
    """A 60 x 30 x 8 mm plate centred on the origin, drilled through along z at (x, y, r)."""
    solid = manifold3d.Manifold.cube((60.0, 30.0, 8.0), center=True)
    for x, y, r in holes:
        solid = solid - manifold3d.Manifold.cylinder(20, r, r, 64, center=True).translate((x, y, 0))
    mesh = solid.to_mesh()
    return trimesh.Trimesh(mesh.vert_properties[:, :3], mesh.tri_verts)


def test_a_plain_block_has_no_thin_wall_and_no_gap_at_its_edges():
    sizes = ray_sizes(trimesh.creation.box(extents=(20.0, 20.0, 20.0)), 1.0, 0.1)
    assert sizes.wall_mm.min() == pytest.approx(20.0, abs=1e-3)  # edges: rays run through
    assert np.isinf(sizes.gap_mm).all()  # nothing faces the outside


def test_the_hole_and_the_wall_beside_it_are_measured():
    # a 1.2 mm hole, and a 10 mm hole whose edge is 1 mm under the plate's side (y = 15)
    sizes = ray_sizes(_plate([(-20.0, 0.0, 0.6), (15.0, 9.0, 5.0)]), 1.0, 0.1)
    assert sizes.gap_mm.min() == pytest.approx(1.2, abs=0.02)
    assert sizes.wall_mm.min() == pytest.approx(1.0, abs=0.02)
    tight = sizes.tightness(min_wall_mm=1.2, min_hole_mm=2.0)
    near_pinhole = np.hypot(sizes.points[:, 0] + 20.0, sizes.points[:, 1]) < 1.0
    assert tight[near_pinhole].min() == pytest.approx(0.6, abs=0.02)


def test_rays_pass_through_the_faces_of_overlapping_bodies():
    a = trimesh.creation.box(extents=(10.0, 10.0, 10.0))
    b = trimesh.creation.box(extents=(10.0, 10.0, 10.0))
    b.apply_translation((9.0, 0.0, 0.0))  # 1 mm of overlap: the union is 19 mm long
    sizes = ray_sizes(trimesh.util.concatenate([a, b]), 0.5, 0.1)
    assert sizes.wall_mm.min() == pytest.approx(10.0, abs=1e-3)  # not the 1 mm overlap
    assert np.isinf(sizes.gap_mm).all()
    # the faces inside the union are no surface: none of the points lies on them
    assert not np.any((np.abs(sizes.points[:, 0] - 4.0) < 1e-6)
                      | (np.abs(sizes.points[:, 0] - 5.0) < 1e-6))  # fmt: skip


def test_only_windows_near_a_tight_spot_are_judged_and_at_least_four():
    corners = [(x, 0, 0) for x in range(0, 480, 48)]  # ten windows in a row
    spots = np.array([[300.0, 10.0, 10.0], [30.0, 10.0, 10.0]])
    tightness = np.array([0.5, 5.0])  # a tight spot at x = 300; a loose one at x = 30
    kept = screen_windows(corners, 64, spots, tightness, margin=2.0, at_least=1)
    assert kept == [(240, 0, 0), (288, 0, 0)]  # the two windows holding x = 300
    kept = screen_windows(corners, 64, spots, tightness, margin=2.0, at_least=4)
    assert (288, 0, 0) in kept and len(kept) == 4 and kept == sorted(kept)


def test_spot_boxes_are_the_blocks_holding_spots():
    boxes = spot_boxes(np.array([[5.0, 5.0, 5.0], [6.0, 7.0, 8.0], [40.0, 5.0, 5.0]]), 32,
                       np.array([50, 40, 40]))  # fmt: skip
    assert [(tuple(lo), tuple(hi)) for lo, hi in boxes] == [
        ((0, 0, 0), (32, 32, 32)), ((32, 0, 0), (50, 32, 32)),
    ]  # fmt: skip


def test_an_objection_names_the_wall_at_its_spot():
    from printability.geometry.normalize import place_at_pitch
    from printability.inspect.check import Checker, PartCheck, format_table

    plate = _plate([(15.0, 8.5, 5.0)])  # a 10 mm hole whose edge is 1.5 mm under y = 15
    row = PartCheck(file="plate.stl", printable=False, probability=0.1, network_printable=False,
                    process_ok=True, wall_limit_mm=1.2, hole_limit_mm=2.0,
                    suspect_mm=[15.0, 14.0, 0.0])  # fmt: skip
    placement, _ = place_at_pitch(plate, 0.25)
    Checker(explain=False)._describe_suspect(row, plate, placement)
    assert row.suspect_wall_mm == pytest.approx(1.5, abs=0.02)
    assert f"at its spot: wall {row.suspect_wall_mm:.2f} mm (min 1.2)" in format_table([row])
    assert "gap" not in format_table([row])  # the 10 mm hole is far from any limit
    far = PartCheck(file="p.stl", printable=False, probability=0.1, network_printable=False,
                    suspect_mm=[-25.0, -10.0, 3.5])  # fmt: skip
    Checker(explain=False)._describe_suspect(far, plate, placement)
    assert far.suspect_wall_mm == pytest.approx(8.0, abs=0.02)  # only the plate's thickness
    assert "no wall or gap near the limits at its spot" in format_table([far])


def test_a_whole_grid_encoded_in_slabs_equals_encoding_it_whole():
    from scipy import ndimage

    from printability.data.inputs import encode_input
    from printability.inspect.windows import grid_codes

    rng = np.random.default_rng(0)
    grid = ndimage.binary_opening(rng.random((72, 40, 36)) < 0.6, iterations=1)
    whole = encode_input(grid, "distance_quarter")
    np.testing.assert_array_equal(grid_codes(grid, "distance_quarter", 4, workers=3), whole)
