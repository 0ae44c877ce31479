"""`check --report`: the 3D view of the Grad-CAM over a part (surface voxels, hot voxels, two
viewpoints) and the page that embeds it next to the slices; inputs are built synthetically."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from printability.inspect.check import PartCheck
from printability.inspect.report import (
    VIEWS,
    failed_checks,
    heatmap_3d_figure,
    hot_voxels,
    process_line,
    surface_voxels,
    write_check_report,
)


def _part(shape=(16, 16, 16), peak=(8, 9, 7), sigma=2.0):
    """A box filling the grid's middle and a Gaussian heat centred on `peak`."""
    solid = np.zeros(shape, bool)
    solid[tuple(slice(2, n - 2) for n in shape)] = True
    grid = np.indices(shape).transpose(1, 2, 3, 0)
    heat = np.exp(-((grid - np.array(peak)) ** 2).sum(-1) / (2 * sigma**2))
    return solid, heat, [float(v) for v in peak]


def _hot_collections(ax):
    """The scatters coloured by heat (the skin and the peak have no colour array)."""
    return [c for c in ax.collections if c.get_array() is not None]


def test_surface_voxels_are_the_outer_shell_of_a_cube():
    solid = np.zeros((6, 6, 6), bool)
    solid[1:5, 1:5, 1:5] = True
    skin = surface_voxels(solid)
    assert len(skin) == 4**3 - 2**3
    inner = {(i, j, k) for i in (2, 3) for j in (2, 3) for k in (2, 3)}
    expected = {tuple(p) for p in np.argwhere(solid)} - inner
    assert {tuple(map(int, p)) for p in skin} == expected


def test_the_grid_border_counts_as_empty():
    skin = surface_voxels(np.ones((3, 4, 5), bool))  # non-cubic, touching every face
    assert len(skin) == 3 * 4 * 5 - 1 * 2 * 3
    assert surface_voxels(np.zeros((3, 3, 3), bool)).shape == (0, 3)


def test_hot_voxels_are_on_the_part_around_the_peak():
    solid, heat, peak = _part()
    points, values = hot_voxels(solid, heat)
    assert solid[tuple(points.T)].all() and (values >= 0.5).all()
    assert np.array_equal(values, heat[tuple(points.T)])
    hot = {tuple(map(int, p)) for p in points}
    around = {tuple(int(c) + d - 1 for c, d in zip(peak, step, strict=True))
              for step in np.ndindex(3, 3, 3)}  # fmt: skip
    assert around <= hot  # the 27 voxels around the peak (all inside the box)
    assert len(hot) == int((solid & (heat >= 0.5)).sum())


def test_the_figure_has_two_3d_views_of_the_whole_grid_with_the_hot_points():
    shape = (20, 14, 10)  # not cubic: proportions follow the grid
    solid, heat, peak = _part(shape, peak=(10, 7, 5))
    fig = heatmap_3d_figure(solid, heat, peak)
    views = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(views) == 2
    expected_hot = int((solid & (heat >= 0.5)).sum())
    for ax, (elev, azim) in zip(views, VIEWS, strict=True):
        assert (ax.elev, ax.azim) == (elev, azim)
        assert ax.get_xlim() == (-0.5, 19.5) and ax.get_zlim() == (-0.5, 9.5)
        aspect = np.array(ax.get_box_aspect())
        assert aspect / aspect[0] == pytest.approx(np.array(shape) / shape[0])
        assert [ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()] == [
            "x (voxels)",
            "y (voxels)",
            "z (voxels)",
        ]
        drawn = np.concatenate([c.get_array() for c in _hot_collections(ax)])
        assert len(drawn) == expected_hot
        assert drawn.max() == pytest.approx(heat[tuple(int(v) for v in peak)])


def test_point_clouds_are_thinned_for_speed():
    solid, heat, peak = _part((24, 24, 24), sigma=6.0)
    fig = heatmap_3d_figure(solid, heat, peak, max_points=500)
    ax = fig.axes[0]
    assert sum(len(c.get_array()) for c in _hot_collections(ax)) == 500
    assert len(ax.collections[0].get_offsets()) <= 500  # the skin


def test_the_report_embeds_slices_and_the_3d_view_for_a_part_not_printable(tmp_path):
    solid, heat, peak = _part()
    bad = PartCheck(file="a.stl", printable=False, probability=0.1, network_printable=False,
                    process_ok=True, pitch_mm=0.5, solid=solid, heatmap=heat,
                    peak_vox=peak)  # fmt: skip
    good = PartCheck(file="b.stl", printable=True, probability=0.9, network_printable=True,
                     process_ok=True, pitch_mm=0.5)  # fmt: skip
    page = write_check_report([bad, good], tmp_path / "out" / "report.html").read_text()
    images = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,([^']+)'>", page)
    assert len(images) == 2
    assert [alt for alt, _ in images] == ["Grad-CAM of a.stl", "3D view of the Grad-CAM over a.stl"]
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "b.stl" in page and "b.stl: not printable" not in page


def test_a_part_failing_only_the_process_limits_gets_its_problems_and_places(tmp_path):
    row = PartCheck(file="plate.stl", printable=False, probability=0.99, network_printable=True,
                    process="fdm", process_ok=False, pitch_mm=0.22, wall_pitch_mm=0.6,
                    min_wall_mm=1.0, wall_at_mm=[60.0, 49.5, 0.0],
                    problems=["wall 1.00 mm < 1.2 mm"])  # fmt: skip
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert "plate.stl: not printable for fdm" in page
    assert "wall 1.00 mm &lt; 1.2 mm at (60.0, 49.5, 0.0) mm" in page and "<img" not in page


def test_the_page_names_the_process_its_limits_and_each_failed_check(tmp_path):
    solid, heat, peak = _part()
    row = PartCheck(file="narrow.stl", printable=False, probability=0.02, network_printable=False,
                    network_threshold=0.5, process="fdm", process_ok=False, hole_limit_mm=2.0,
                    wall_limit_mm=1.2, min_hole_diameter_mm=1.6, pitch_mm=0.5,
                    problems=["hole 1.60 mm < 2.0 mm"], solid=solid, heatmap=heat,
                    peak_vox=peak)  # fmt: skip
    assert failed_checks(row) == [
        "network: P(printable) 0.020 < 0.5",
        "hole diameter 1.60 mm < 2.0 mm",
    ]
    line = process_line([PartCheck(file="x.stl", error="empty file"), row])
    assert line.startswith("Process: fdm, fused deposition modelling (ABS/PC).")
    assert "thinnest wall 1.2 mm, smallest hole diameter 2.0 mm" in line and "0.5" in line
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert line in page and "<li>hole diameter 1.60 mm &lt; 2.0 mm</li>" in page
    assert "smallest hole diameter 1.60 mm" in page


def test_a_part_only_the_network_fails_says_its_sizes_pass(tmp_path):
    solid, heat, peak = _part()
    row = PartCheck(file="n.stl", printable=False, probability=0.0, network_printable=False,
                    network_threshold=0.5, process="fdm", process_ok=True, hole_limit_mm=2.0,
                    wall_limit_mm=1.2, pitch_mm=0.5, solid=solid, heatmap=heat,
                    peak_vox=peak)  # fmt: skip
    assert failed_checks(row) == ["network: P(printable) 0.000 < 0.5"]
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert "passed: hole and wall sizes within the process&#x27;s limits" in page
    assert process_line([PartCheck(file="x.stl", error="bad")]) == "No part could be judged."
