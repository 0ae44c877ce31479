"""Large parts: fixed-pitch voxelization into a grid sized to the part, the pitch each part is
checked at, and the overlapping windows the network judges."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from printability.config import get_preset
from printability.geometry.normalize import place_at_pitch
from printability.geometry.voxelize import voxelize_at_pitch
from printability.inspect.processes import get_process
from printability.inspect.windows import (
    MAX_VOXELS,
    budget_pitch,
    choose_pitch,
    network_pitch,
    pad_to_window,
    rules_pitch,
    window_starts,
    windows,
)

SEED = get_preset("seed2021")
FDM = get_process("fdm")


def test_a_box_at_a_fixed_pitch_keeps_its_size_in_mm():
    box = trimesh.creation.box((30.0, 20.0, 10.0))
    solid, placement = voxelize_at_pitch(box, 1.0, align=False, margin=2)
    assert solid.shape == (34, 24, 14)  # the part plus 2 empty voxels per side
    assert solid.sum() == 30 * 20 * 10  # one voxel per mm^3
    assert placement.pitch_mm == 1.0
    assert not solid[:2].any() and not solid[-2:].any()


def test_the_fixed_pitch_placement_maps_back_to_the_mesh():
    mesh = trimesh.creation.box((50.0, 8.0, 3.0))
    mesh.apply_transform(trimesh.transformations.rotation_matrix(0.7, [1, 2, 3]))
    mesh.apply_translation([10.0, -4.0, 7.0])
    placement, shape = place_at_pitch(mesh, 0.5)
    voxels = placement.to_voxels(mesh.vertices)
    assert np.allclose(placement.to_mm(voxels), mesh.vertices)
    assert voxels.min() >= 2 - 1e-9 and (voxels.max(axis=0) <= np.array(shape) - 2 + 1e-9).all()
    assert shape[0] == 104  # aligned: the 50 mm edge lies along x, 100 voxels + 2 x 2


def test_window_starts_cover_the_axis_and_end_flush():
    assert window_starts(64, 64, 48) == [0]
    assert window_starts(100, 64, 48) == [0, 36]
    assert window_starts(200, 64, 48) == [0, 48, 96, 136]


def test_windows_cover_every_voxel_and_skip_what_has_nothing_to_judge():
    rng = np.random.default_rng(0)
    solid = np.zeros((150, 70, 64), bool)
    solid[10:140, 5:65, 8:56] = rng.random((130, 60, 48)) > 0.3
    solid[:, :, 20:30] = True  # no window is all material here: the ends are air
    cut = list(windows(solid, 32))
    covered = np.zeros_like(solid)
    for (i, j, k), window in cut:
        assert window.shape == (32, 32, 32) and window.any() and not window.all()
        covered[i : i + 32, j : j + 32, k : k + 32] = True
    assert covered[solid].all()  # every voxel of material lies in a judged window
    air = np.zeros((100, 64, 64), bool)
    assert list(windows(air, 64)) == []
    assert list(windows(~air, 64)) == []


def test_pad_to_window_centres_a_small_grid_and_returns_its_offset():
    grid = np.ones((10, 80, 64), bool)
    padded, offset = pad_to_window(grid, 64)
    assert padded.shape == (64, 80, 64) and offset.tolist() == [27, 0, 0]
    assert padded[27:37].all() and not padded[:27].any()


def test_process_pitches_put_the_limits_where_model_and_rules_see_them():
    assert network_pitch(FDM, SEED) == pytest.approx(2.0 / 9)  # hole 2 mm = 9 voxels across
    assert rules_pitch(FDM, SEED) == pytest.approx(0.6)  # wall 1.2 mm = b_np = 2 voxels


def test_choose_pitch_fits_small_parts_and_windows_large_ones():
    small = choose_pitch("auto", 0.5, np.array([28.0, 20, 10]), FDM, SEED)
    assert small.pitch_mm is None  # a voxel of 0.5 mm resolves the 1.2 mm wall: as trained
    large = choose_pitch("auto", 3.5, np.array([200.0, 100, 12]), FDM, SEED)
    assert large.pitch_mm == pytest.approx(2.0 / 9)
    assert choose_pitch("fit", 3.5, np.array([200.0, 100, 12]), FDM, SEED).pitch_mm is None
    assert choose_pitch("process", 0.1, np.ones(3), FDM, SEED).pitch_mm == pytest.approx(2 / 9)
    assert choose_pitch(0.3, 0.1, np.ones(3), FDM, SEED).pitch_mm == 0.3
    trained = choose_pitch("fit", 3.5, np.ones(3), FDM, SEED, trained_pitch_mm=0.8)
    assert trained.pitch_mm == 0.8  # a model trained at a pitch is used at it


def test_choose_pitch_stays_within_the_voxel_budget():
    huge = np.array([1000.0, 1000.0, 1000.0])
    choice = choose_pitch("process", 20.0, huge, FDM, SEED)
    assert choice.pitch_mm == pytest.approx(budget_pitch(huge))
    assert "coarser" in choice.reason
    # a flat part: its thin axis is padded to the window, which the budget counts
    plate = trimesh.creation.box((300.0, 300.0, 0.8))
    pitch = choose_pitch(0.01, 20.0, plate.extents, FDM, SEED).pitch_mm
    solid, _ = voxelize_at_pitch(plate, pitch, align=False)
    padded = np.maximum(solid.shape, 64)
    assert 0.9 * MAX_VOXELS < np.prod(padded) <= MAX_VOXELS


def test_choose_pitch_rejects_unknown_modes():
    with pytest.raises(ValueError, match="unknown pitch"):
        choose_pitch("fine", 1.0, np.ones(3), FDM, SEED)
    for bad in (0.0, -0.2, float("inf")):
        with pytest.raises(ValueError, match="positive"):
            choose_pitch(bad, 1.0, np.ones(3), FDM, SEED)


def _plate(hole_xy_r: tuple[float, float, float] | None = None) -> trimesh.Trimesh:
    """A 120 x 30 x 8 mm plate, optionally drilled through along z."""
    import manifold3d

    plate = manifold3d.Manifold.cube((120.0, 30.0, 8.0), center=True)
    if hole_xy_r:
        x, y, r = hole_xy_r
        plate = plate - manifold3d.Manifold.cylinder(50, r, r, 64, center=True).translate((x, y, 0))
    mesh = plate.to_mesh()
    return trimesh.Trimesh(mesh.vert_properties[:, :3], mesh.tri_verts)


def test_a_long_plate_is_checked_in_windows_and_the_small_hole_is_found(tmp_path):
    from printability.inspect.check import Checker

    _plate().export(tmp_path / "plain.stl")
    _plate((-40.0, 5.0, 0.6)).export(tmp_path / "pinhole.stl")  # 1.2 mm: FDM needs 2 mm
    plain, pinhole = Checker(process="fdm", keep_maps=True).check_paths(
        [tmp_path / "plain.stl", tmp_path / "pinhole.stl"], progress=False
    )
    for row in (plain, pinhole):  # fitted to 64^3 a voxel would be 2.1 mm: windows instead
        assert row.error is None and row.pitch_mm == pytest.approx(2 / 9, abs=1e-4)
        assert row.windows + row.windows_skipped > 10 and row.grid[0] > 500
        assert 4 <= row.windows < 10  # the ray screen: only windows near a tight spot, >= 4
    assert plain.printable is True
    assert pinhole.printable is False and not pinhole.network_printable
    assert np.hypot(pinhole.suspect_mm[0] + 40.0, pinhole.suspect_mm[1] - 5.0) < 3.0
    from printability.inspect.report import write_check_report

    page = write_check_report([plain, pinhole], tmp_path / "report.html").read_text()
    assert f"the worst of {pinhole.windows} windows" in page and page.count("<img") == 2
    from printability.inspect.check import format_table

    every = pinhole.windows + pinhole.windows_skipped
    assert f"{pinhole.windows} of {every} windows at 0.2222 mm" in format_table([pinhole])
    assert np.hypot(pinhole.hole_at_mm[0] + 40.0, pinhole.hole_at_mm[1] - 5.0) < 1.0  # rules


def test_the_table_shows_where_the_rules_found_a_problem_the_network_let_through():
    from printability.inspect.check import PartCheck, format_table

    row = PartCheck(file="plate.stl", printable=False, probability=0.99, network_printable=True,
                    min_wall_mm=1.0, wall_at_mm=[60.0, 49.5, 0.0],
                    problems=["wall 1.00 mm < 1.2 mm"])  # fmt: skip
    assert "(60.0, 49.5, 0.0)" in format_table([row])


def test_a_fixed_pitch_grid_can_reuse_a_placements_frame():
    from printability.config import VoxelConfig
    from printability.geometry.normalize import place_in_grid

    mesh = trimesh.creation.box((50.0, 8.0, 3.0))
    mesh.apply_transform(trimesh.transformations.rotation_matrix(0.7, [1, 2, 3]))
    fit = place_in_grid(mesh, VoxelConfig())
    own, own_shape = place_at_pitch(mesh, 0.5)
    reused, reused_shape = place_at_pitch(mesh, 0.5, like=fit)
    assert own_shape == reused_shape
    assert np.allclose(own.to_voxels(mesh.vertices), reused.to_voxels(mesh.vertices))


def test_judge_windows_runs_every_window_in_batches_in_order():
    from printability.inspect.windows import judge_windows

    calls = []

    def predictor(inputs):
        calls.append(len(inputs))
        values = np.array([float(x.sum()) for x in inputs])
        return values, np.stack([np.full((2, 2, 2), v) for v in values])

    corners = [(i, 0, 0) for i in range(7)]
    p, cams = judge_windows(corners, lambda c: np.full((1, 2), c[0]), predictor, inputs_per_call=3)
    assert calls == [3, 3, 1]  # batches of 3, the last one short
    assert p.tolist() == [2.0 * i for i in range(7)]  # one answer per window, in order
    assert cams.shape == (7, 2, 2, 2) and cams[4, 0, 0, 0] == 8.0

    p, cams = judge_windows(corners[:2], lambda c: np.zeros(1), lambda x: (np.zeros(len(x)), None))
    assert p.shape == (2,) and cams is None  # a network without Grad-CAM
    assert judge_windows([], lambda c: np.zeros(1), predictor)[0].shape == (0,)
