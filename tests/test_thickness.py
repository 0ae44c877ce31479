"""Wall thickness measured on the mesh: a box with a hole of known wall, and places with no
thin wall (a plain box's edge and corner), where the answer is None; the segment each size was
measured along lies on the part's surfaces, as long as the size."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from printability.geometry.thickness import hole_width_at, wall_thickness_at
from printability.inspect.samples import box_with_hole


@pytest.mark.parametrize("wall", [0.6, 1.0, 1.5])
def test_the_wall_between_a_hole_and_the_face_is_measured_to_a_few_hundredths(wall):
    part = box_with_hole(5.0, 20.0 - 5.0 - wall)  # a 10 mm hole whose wall to y = 20 is `wall`
    near = np.array([0.4, 20.0 - wall / 2 + 0.3, 1.0])  # about where the rules would point
    # the hole is a 64-gon: its flats lie up to r (1 - cos(pi / 64)) = 0.006 mm outside r
    span = wall_thickness_at(part, near, 3.0, 6.0)
    assert span.mm == pytest.approx(wall, abs=0.03)
    assert np.linalg.norm(span.end - span.start) == pytest.approx(span.mm, abs=0.03)
    outer = max(span.start[1], span.end[1])  # the ray crosses the wall out to the face y = 20
    assert outer == pytest.approx(20.0, abs=1e-9)
    inner = min((span.start, span.end), key=lambda p: p[1])
    assert np.hypot(inner[0], inner[1] - (15.0 - wall)) == pytest.approx(5.0, abs=0.01)  # hole


def test_no_wall_is_found_where_there_is_none():
    box = trimesh.creation.box((10.0, 10.0, 10.0))
    assert wall_thickness_at(box, np.array([5.0, 5.0, 0.0]), 2.0, 4.0) is None  # an edge
    assert wall_thickness_at(box, np.array([5.0, 5.0, 5.0]), 2.0, 4.0) is None  # a corner
    assert wall_thickness_at(box, np.array([50.0, 0.0, 0.0]), 2.0, 4.0) is None  # far away
    across = wall_thickness_at(box, np.array([5.0, 0.0, 0.0]), 2.0, 12.0)  # rays may reach
    assert across.mm == pytest.approx(10.0, abs=1e-3)  # the far face: the box is a 10 mm "wall"


@pytest.mark.parametrize("radius", [0.6, 1.2, 2.0])
@pytest.mark.parametrize("off_axis", [0.0, 0.5])
def test_a_holes_width_is_measured_from_a_point_near_its_axis(radius, off_axis):
    part = box_with_hole(radius)  # drilled along z through the 40 x 40 x 20 mm box's centre
    width = hole_width_at(part, np.array([off_axis, 0.1, 3.0]), 8.0)
    assert width.mm == pytest.approx(2 * radius, abs=0.03)  # a 64-gon: flats 0.1% inside
    # the chord runs across the hole, through its axis, from wall to wall
    assert np.hypot(*width.start[:2]) == pytest.approx(radius, abs=0.01)
    assert np.hypot(*width.end[:2]) == pytest.approx(radius, abs=0.01)
    assert np.hypot(*(width.start + width.end)[:2] / 2) <= off_axis / 4 + 0.02  # recentred


def test_no_width_where_no_chord_closes():
    box = trimesh.creation.box((10.0, 10.0, 10.0))
    assert hole_width_at(box, np.array([0.0, 0.0, 0.0]), 8.0) is None  # 10 mm across: > 8
    assert hole_width_at(box, np.array([0.0, 0.0, 0.0]), 12.0).mm == pytest.approx(10.0, abs=0.05)
