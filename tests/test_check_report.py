"""`check --report`: the part's grid and Grad-CAM turned back into the mesh's own axes in mm, the
cuts through the failed feature with the mesh's outline and the measured size, the 3D view, and
the page that embeds them; parts are small boxes with a hole of known size."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
import trimesh
from matplotlib.backends.backend_agg import FigureCanvasAgg

from printability.config import VoxelConfig
from printability.geometry.thickness import hole_width_at, wall_thickness_at
from printability.geometry.voxelize import voxelize
from printability.inspect.check import PartCheck
from printability.inspect.figures import (
    SPAN_COLOUR,
    VIEWS,
    focus,
    hot_voxels,
    marks,
    part_frame,
    slices_figure,
    surface_voxels,
    view_3d_figure,
    zoom_half_width,
)
from printability.inspect.report import failed_checks, process_line, write_check_report
from printability.inspect.samples import box_with_hole

RADIUS = 3.0  # mm, the hole drilled along z through the 40 x 40 x 20 mm box
WALL = 1.0  # mm, from the hole to the face y = 20


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


def _checked(turn_degrees=0.0, resolution=32, about=(0, 0, 1), **fields) -> PartCheck:
    """A row as Checker(keep_maps=True) leaves it for a box with a hole whose wall to y = 20 is
    WALL (turned `turn_degrees` about the axis `about`): its grid, a Gaussian heat on the wall,
    and the sizes measured on the mesh."""
    turn = trimesh.transformations.rotation_matrix(np.radians(turn_degrees), about)
    mesh = box_with_hole(RADIUS, 20.0 - RADIUS - WALL).apply_transform(turn)
    solid, placement = voxelize(mesh, VoxelConfig(resolution=resolution))
    spot, in_hole = trimesh.transform_points(
        [[0.0, 20.0 - WALL / 2, 0.0], [0.1, 20.0 - RADIUS - WALL, 0.5]], turn
    )  # the middle of the thin wall, and a point in the hole
    peak = placement.to_voxels(spot[None])[0] - 0.5
    grid = np.indices(solid.shape).transpose(1, 2, 3, 0)
    heat = np.exp(-((grid - peak) ** 2).sum(-1) / (2 * 3.0**2))
    wall = wall_thickness_at(mesh, spot + [0.0, 0.0, 1.0], 3.0, 6.0)
    hole = hole_width_at(mesh, in_hole, 12.0)
    row = dict(file="box.stl", printable=False, probability=0.05, network_printable=False,
               network_threshold=0.5, process="fdm", process_ok=False, hole_limit_mm=2.0,
               wall_limit_mm=1.2, min_wall_mm=round(wall.mm, 3),
               min_hole_diameter_mm=round(hole.mm, 3), pitch_mm=placement.pitch_mm,
               wall_span_mm=[wall.start.tolist(), wall.end.tolist()],
               hole_span_mm=[hole.start.tolist(), hole.end.tolist()],
               problems=[f"wall {wall.mm:.2f} mm < 1.2 mm"], suspect_mm=spot.tolist(),
               solid=solid, heatmap=heat, mesh=mesh,
               placement=placement, window_offset=[0, 0, 0])  # fmt: skip
    row.update(fields)
    return PartCheck(**row)


@pytest.mark.parametrize(("turn_degrees", "about"), [(0.0, (0, 0, 1)), (30.0, (0, 0, 1)),
                                                     (40.0, (1, 0.5, 0))])  # fmt: skip
def test_the_frame_shows_the_part_in_its_own_coordinates(turn_degrees, about):
    row = _checked(turn_degrees, about=about)
    mesh, frame = row.mesh, part_frame(row)
    lows, highs = frame.to_mm(np.zeros(3)), frame.to_mm(np.array(frame.solid.shape) - 1)
    assert np.all(lows <= mesh.bounds[0] + frame.pitch_mm)  # it covers the whole part
    assert np.all(highs >= mesh.bounds[1] - frame.pitch_mm)
    centres = frame.to_mm(np.argwhere(np.ones(frame.solid.shape, bool)))
    inside = mesh.contains(centres).reshape(frame.solid.shape)
    agree = (inside == frame.solid).mean()
    assert agree > (0.97 if turn_degrees == 0 else 0.93)  # resampled: a voxel off at edges
    assert not frame.heat[~frame.solid].any()  # heat on material only
    turn = trimesh.transformations.rotation_matrix(np.radians(turn_degrees), about)
    on_axis = trimesh.transform_points([[0.0, 20.0 - RADIUS - WALL, 0.0]], turn)[0]
    assert not frame.solid[tuple(frame.index(on_axis))]  # the hole's air, where the mesh has it
    hottest = frame.to_mm(np.unravel_index(np.argmax(frame.heat), frame.heat.shape))
    assert np.linalg.norm(hottest - row.suspect_mm) < 3 * frame.pitch_mm


def test_the_cuts_go_through_the_failing_wall_and_draw_it():
    row = _checked()
    frame = part_frame(row)
    assert [m.label for m in marks(row)][0].startswith("wall 1.0")  # the failing size first
    centre, why, size = focus(row, frame)
    assert why.startswith("wall") and centre == pytest.approx(marks(row)[0].middle)
    assert size == pytest.approx(WALL, abs=0.03)
    fig = slices_figure(row, frame)
    cuts = [ax for ax in fig.axes if ax.get_title().startswith("cut at")]
    whole = [ax for ax in fig.axes if ax.get_title().startswith("whole part")]
    assert len(cuts) == 3 and len(whole) == 3
    for normal, ax in enumerate(cuts):
        u, v = [a for a in range(3) if a != normal]
        at = float(ax.get_title().split("= ")[1].split(" mm")[0])
        assert at == pytest.approx(centre[normal], abs=frame.pitch_mm)
        assert (ax.get_xlabel(), ax.get_ylabel()) == (f"{'xyz'[u]} (mm)", f"{'xyz'[v]} (mm)")
        low, high = ax.get_xlim()
        assert low < centre[u] < high and high - low < 40.0  # a close-up, not the 40 mm box
        outline = [line for line in ax.get_lines() if line.get_color() == "k"]
        assert outline  # the mesh's cut
        spans = [line for line in ax.get_lines() if line.get_color() == SPAN_COLOUR]
        wall = marks(row)[0]
        drawn = np.array(spans[0].get_xydata())
        assert drawn == pytest.approx(np.stack([wall.start, wall.end])[:, [u, v]])
    cut_z = cuts[2]  # normal to the hole's axis: the outline is the hole's circle and the box
    radii = [np.hypot(*(line.get_xydata() - [0.0, 20.0 - RADIUS - WALL]).T)
             for line in cut_z.get_lines() if line.get_color() == "k"]  # fmt: skip
    assert any(np.allclose(r, RADIUS, atol=0.01) for r in radii)


def test_the_close_up_is_a_few_times_the_feature_but_never_more_than_the_part():
    frame = part_frame(_checked(resolution=64))  # 0.71 mm voxels
    assert zoom_half_width(frame, 3.0) == pytest.approx(12.0)  # 4 x the feature
    assert zoom_half_width(frame, 0.2) == pytest.approx(12 * frame.pitch_mm)  # 12 voxels
    whole = frame.pitch_mm * max(frame.solid.shape) / 2  # about the 40 mm box's half
    assert zoom_half_width(frame, 500.0) == pytest.approx(whole) and 20 <= whole <= 25


def test_the_3d_view_is_in_mm_with_an_upright_z_label_and_the_hot_points():
    row = _checked()
    frame = part_frame(row)
    fig = view_3d_figure(row, frame)
    FigureCanvasAgg(fig).draw()  # mplot3d turns its labels while drawing
    views = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(views) == 2
    expected_hot = int((frame.solid & (frame.heat >= 0.5)).sum())
    for ax, (elev, azim) in zip(views, VIEWS, strict=True):
        assert (ax.elev, ax.azim) == (elev, azim)
        assert [ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()] == ["x (mm)", "y (mm)", "z (mm)"]
        assert ax.zaxis.label.get_rotation() == 90  # reads upwards from both sides
        low, high = ax.get_xlim()
        assert low <= row.mesh.bounds[0][0] and high >= row.mesh.bounds[1][0]
        drawn = np.concatenate([c.get_array() for c in _hot_collections(ax)])
        assert len(drawn) == expected_hot


def test_point_clouds_are_thinned_for_speed():
    row = _checked()
    frame = part_frame(row)
    assert int((frame.solid & (frame.heat >= 0.5)).sum()) > 30
    ax = view_3d_figure(row, frame, max_points=30).axes[0]
    assert sum(len(c.get_array()) for c in _hot_collections(ax)) == 30
    assert len(ax.collections[0].get_offsets()) == 30  # the skin


def test_the_report_embeds_the_cuts_and_the_3d_view_in_a_table_page(tmp_path):
    bad = _checked()
    good = PartCheck(file="b.stl", printable=True, probability=0.9, network_printable=True,
                     process_ok=True, pitch_mm=0.5)  # fmt: skip
    page = write_check_report([bad, good], tmp_path / "out" / "report.html").read_text()
    images = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,([^']+)'>", page)
    assert [alt for alt, _ in images] == ["cuts through box.stl", "3D view of box.stl"]
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "b.stl" in page and "b.stl: not printable" not in page
    assert "<pre>" not in page and "<td class='file'>b.stl</td>" in page  # wraps, no scrolling
    assert "<td class='bad'>NOT printable</td>" in page


def test_a_part_failing_only_the_process_limits_gets_its_cuts_without_heat(tmp_path):
    row = _checked(network_printable=True, probability=0.99, suspect_mm=None, heatmap=None)
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert "box.stl: not printable for fdm" in page
    assert "<li>wall 1.0" in page and "passed: network: P(printable) 0.990" in page
    assert "thinnest wall 1.0" in page and " at (" in page
    images = re.findall(r"<img alt='([^']*)'", page)
    assert images == ["cuts through box.stl"]  # no 3D view of a heat the network did not have


def test_a_row_without_its_grid_gets_its_checks_and_sizes_but_no_pictures(tmp_path):
    row = PartCheck(file="plate.stl", printable=False, probability=0.99, network_printable=True,
                    process="fdm", process_ok=False, pitch_mm=0.22, wall_pitch_mm=0.6,
                    min_wall_mm=1.0, wall_at_mm=[60.0, 49.5, 0.0],
                    problems=["wall 1.00 mm < 1.2 mm"])  # fmt: skip
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert "plate.stl: not printable for fdm" in page
    assert "thinnest wall 1.00 mm at (60.0, 49.5, 0.0) mm" in page and "<img" not in page


def test_the_page_names_the_process_its_limits_and_each_failed_check(tmp_path):
    solid, heat, peak = _part()
    row = PartCheck(file="narrow.stl", printable=False, probability=0.02, network_printable=False,
                    network_threshold=0.5, process="fdm", process_ok=False, hole_limit_mm=2.0,
                    wall_limit_mm=1.2, min_hole_diameter_mm=1.6, pitch_mm=0.5,
                    problems=["hole 1.60 mm < 2.0 mm"], solid=solid,
                    heatmap=heat)  # fmt: skip
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
                    wall_limit_mm=1.2, pitch_mm=0.5, solid=solid,
                    heatmap=heat)  # fmt: skip
    assert failed_checks(row) == ["network: P(printable) 0.000 < 0.5"]
    page = write_check_report([row], tmp_path / "r.html").read_text()
    assert "passed: hole and wall sizes within the process&#x27;s limits" in page
    assert process_line([PartCheck(file="x.stl", error="bad")]) == "No part could be judged."


def test_the_interactive_view_splits_long_edges_and_colours_the_wall_by_its_heat():
    from printability.inspect.figures import heat_at
    from printability.inspect.viewer import fine_surface, interactive_view

    row = _checked()
    vertices, faces = fine_surface(row)
    edges = np.linalg.norm(vertices[faces] - vertices[np.roll(faces, 1, axis=1)], axis=-1)
    assert edges.max() <= 2 * row.placement.pitch_mm + 1e-9 < row.mesh.edges_unique_length.max()
    heat = heat_at(row, vertices)
    near = np.linalg.norm(vertices - row.suspect_mm, axis=1) < 2.0
    far = np.linalg.norm(vertices - row.suspect_mm, axis=1) > 25.0
    assert heat[near].min() > 0.8 and heat[far].max() < 0.1  # the Gaussian on the wall
    html = interactive_view(row)
    assert '"type":"mesh3d"' in html and "wall 1.0" in html and "Plotly.newPlot" in html
    assert not re.search(r"https?://", html) and "<script src" not in html  # nothing fetched
    assert interactive_view(PartCheck(file="x.stl")) == ""  # no mesh kept


def test_a_size_measured_outside_the_pictured_window_is_left_out_of_the_pictures():
    far = [[500.0, 0.0, 0.0], [501.0, 0.0, 0.0]]  # as if in another window of a large part
    row = _checked(wall_span_mm=far, windows=6, grid=[300, 300, 64])
    frame = part_frame(row)
    centre, why, _ = focus(row, frame)
    assert why == "the network's strongest evidence" and centre == pytest.approx(row.suspect_mm)
    fig = slices_figure(row, frame)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any(label.startswith("measured: wall") for label in labels)
    assert any(label.startswith("measured: hole diameter") for label in labels)
    titles = [ax.get_title() for ax in fig.axes]
    assert "judged window: heat, maximum along z" in titles and "whole part" not in str(titles)


def test_a_window_of_a_large_part_is_placed_where_it_lies_in_the_part():
    whole = _checked()
    corner = np.array([10, 12, 0])  # the window starts at voxel (10, 12, 0) of the part's grid
    window = tuple(slice(c, None) for c in corner)
    row = _checked(solid=whole.solid[window], heatmap=whole.heatmap[window],
                   window_offset=corner.tolist(), windows=4)  # fmt: skip
    frame = part_frame(row)
    first = np.maximum(whole.placement.to_mm((corner + 0.5)[None])[0], row.mesh.bounds[0])
    below = first - frame.origin_mm  # the window's first voxel or the part's face, a cell in
    assert np.all(below >= -1e-9) and np.all(below <= 2 * frame.pitch_mm)
    centres = frame.to_mm(np.argwhere(np.ones(frame.solid.shape, bool)))
    in_window = ((whole.placement.to_voxels(centres) - corner) >= 0).all(axis=1)
    assert (~frame.solid.reshape(-1)[~in_window]).all()  # outside the window: not judged
    inside = row.mesh.contains(centres[in_window])
    assert (inside == frame.solid.reshape(-1)[in_window]).mean() > 0.97
    hottest = frame.to_mm(np.unravel_index(np.argmax(frame.heat), frame.heat.shape))
    assert np.linalg.norm(hottest - row.suspect_mm) < 3 * frame.pitch_mm  # the same place


def test_long_thin_triangles_are_split_no_further_than_the_view_can_carry():
    from printability.inspect.viewer import VIEW_FACES, fine_surface

    rod = trimesh.creation.cylinder(radius=2.0, height=400.0, sections=4096)  # 16k slivers
    solid, placement = voxelize(rod, VoxelConfig(resolution=64))
    row = PartCheck(file="rod.stl", mesh=rod, solid=solid, placement=placement,
                    heatmap=np.ones(solid.shape), window_offset=[0, 0, 0])  # fmt: skip
    vertices, faces = fine_surface(row)
    assert len(rod.faces) < len(faces) <= VIEW_FACES  # split, but not into millions
    assert abs(trimesh.Trimesh(vertices, faces).area - rod.area) < 1e-6 * rod.area


def test_cuts_without_a_grad_cam_claim_no_heat():
    row = _checked(network_printable=True, probability=0.99, suspect_mm=None, heatmap=None)
    fig = slices_figure(row, part_frame(row))
    titles = [ax.get_title() for ax in fig.axes]
    assert "whole part: seen along z" in titles and not any("heat" in t for t in titles)
    assert len(fig.axes) == 6  # no colour bar
