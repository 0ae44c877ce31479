"""The rule-based baseline on small analytic solids whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_grid
from scipy import ndimage

from printability.evaluate.rules import RuleBaseline
from printability.geometry.measure import Hole, hole_mask
from printability.geometry.morphology import (
    close_ball,
    distance_sq,
    occupied,
    open_ball,
    padded_crop,
)
from printability.geometry.rule_sizes import RuleMeasurements, measure, thresholds_from_dict

SHAPE = (64, 64, 64)
BOX = box_grid()  # voxels [12, 52) x [12, 52) x [22, 42): 40 x 40 x 20


def drilled(solid: np.ndarray, center, axis, radius: float) -> np.ndarray:
    """`solid` with a through hole (voxel centres within `radius` of the line removed)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return solid & ~hole_mask(solid.shape, Hole(np.asarray(center, float), axis, radius))


@pytest.fixture
def rules(seed_thresholds) -> RuleBaseline:
    return RuleBaseline(seed_thresholds)


def l_block() -> np.ndarray:
    """The box with a 40 x 20 x 10 step cut away: one long concave edge."""
    solid = BOX.copy()
    solid[12:52, 32:52, 32:42] = False
    return solid


def pocketed_block() -> np.ndarray:
    """A 48 x 48 x 32 block with a 24 x 24 x 12 pocket: concave edges and 3-face corners."""
    solid = box_grid((8, 8, 16), (56, 56, 48))
    solid[20:44, 20:44, 36:48] = False
    return solid


@pytest.mark.parametrize("outside", [False, True])
@pytest.mark.parametrize("reach", [1, 2, 4])
def test_distance_sq_is_exact_within_reach(reach, outside):
    rng = np.random.default_rng(reach)
    mask = rng.random((21, 17, 19)) < 0.02
    pad = 8  # scipy's transform on a grid with the outside made explicit
    reference = ndimage.distance_transform_edt(~np.pad(mask, pad, constant_values=outside)) ** 2
    reference = np.round(reference[pad:-pad, pad:-pad, pad:-pad])
    got = distance_sq(mask, reach, outside=outside).astype(float)
    exact = reference < (reach + 1) ** 2
    np.testing.assert_array_equal(got[exact], reference[exact])
    assert np.all(got[~exact] >= (reach + 1) ** 2)


def test_occupied_reads_integer_indices_and_outside_is_empty():
    rng = np.random.default_rng(5)
    solid = rng.random((5, 6, 7)) < 0.5
    idx = rng.integers(-2, 9, size=(40, 3))
    inside = np.all((idx >= 0) & (idx < solid.shape), axis=1)
    expected = np.zeros(len(idx), bool)
    expected[inside] = solid[tuple(idx[inside].T)]
    np.testing.assert_array_equal(occupied(solid, idx), expected)
    np.testing.assert_array_equal(occupied(solid, idx + 0.7), expected)  # floor of a point


def test_thresholds_from_a_dataset_json_dict():
    stored = {"b_np": 2.0, "b_p": 4.0, "name": "seed2021", "r_np": 3.0, "r_p": 6.0}
    th = thresholds_from_dict({**stored, "reference_resolution": 64})
    assert (th.r_p, th.r_np, th.b_p, th.b_np, th.name) == (6.0, 3.0, 4.0, 2.0, "seed2021")
    assert thresholds_from_dict(stored).reference_resolution == 64
    with pytest.raises(ValueError, match="b_np"):
        thresholds_from_dict({"r_p": 6, "r_np": 3, "b_p": 4})


def test_plain_box_is_printable_although_the_opening_cuts_its_corners(rules):
    solid = padded_crop(BOX, 6)
    assert (solid & ~open_ball(solid, 1.5)).sum() > 0  # the 8 corners: must not count
    m = rules.measure(BOX)
    assert m == RuleMeasurements(0, 0, None, None)
    assert rules.probability_printable(BOX) == 1.0
    assert rules.is_printable(BOX)


@pytest.mark.parametrize("make", [l_block, pocketed_block])
def test_concave_edges_and_corners_are_not_holes(rules, make):
    solid = make()
    crop = padded_crop(solid, 6)
    assert (close_ball(crop, 4.5) & ~crop).sum() > 50  # the fillets: must not count
    m = rules.measure(solid)
    assert m.narrow_hole_voxels == 0 and m.thin_wall_voxels == 0
    assert rules.is_printable(solid)


@pytest.mark.parametrize("radius", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("axis", [(0, 0, 1), (1, 1, 2), (0.3, -0.2, 1)])
def test_narrow_through_hole_is_not_printable(rules, axis, radius):
    solid = drilled(BOX, (32.3, 31.6, 32), axis, radius)
    m = rules.measure(solid)
    assert m.narrow_hole_voxels > rules.params.hole_voxels_limit
    assert m.min_hole_diameter_vox == pytest.approx(2 * radius, abs=1.5)
    assert not rules.is_printable(solid)


@pytest.mark.parametrize("axis", [(0, 0, 1), (1, 0, 0), (np.sin(0.6), 0, np.cos(0.6))])
def test_wide_hole_with_thick_walls_is_printable(rules, axis):
    solid = drilled(BOX, (32, 32, 32), axis, 7.0)
    m = rules.measure(solid)
    assert m.narrow_hole_voxels == 0
    assert m.thin_wall_voxels <= rules.params.wall_voxels_limit
    assert rules.is_printable(solid)


@pytest.mark.parametrize("wall", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("axis", [(1, 0, 0), (1, 0, 0.3)])
def test_wide_hole_just_under_a_face_is_a_thin_wall(rules, wall, axis):
    # the face is y = 12; the hole's surface runs `wall` voxels under it
    solid = drilled(BOX, (32, 12 + wall + 7.0, 32), axis, 7.0)
    m = rules.measure(solid)
    assert m.thin_wall_voxels > rules.params.wall_voxels_limit
    assert m.narrow_hole_voxels == 0
    assert 1.0 <= m.min_wall_vox <= 2.5
    assert not rules.is_printable(solid)


def test_wide_hole_with_a_printable_wall_under_the_face_is_printable(rules):
    solid = drilled(BOX, (32, 12 + 4.5 + 7.0, 32), (1, 0, 0), 7.0)
    assert rules.measure(solid).thin_wall_voxels == 0
    assert rules.is_printable(solid)


def test_score_ranks_defects_below_printable_parts(rules):
    plain = rules.probability_printable(BOX)
    wide = rules.probability_printable(drilled(BOX, (32, 32, 32), (0, 0, 1), 7.0))
    narrow = rules.probability_printable(drilled(BOX, (32, 32, 32), (0, 0, 1), 2.0))
    thin = rules.probability_printable(drilled(BOX, (32, 20.5, 32), (1, 0, 0), 7.0))
    assert plain >= wide > 0.5 > max(narrow, thin)
    assert all(0.0 <= p <= 1.0 for p in (plain, wide, narrow, thin))


def test_probability_falls_monotonically_with_each_count(rules):
    counts = [0, 1, 4, 8, 9, 20, 100, 10_000]
    for make in (
        lambda n: RuleMeasurements(n, 0, None, None),
        lambda n: RuleMeasurements(0, n, None, None),
        lambda n: RuleMeasurements(n, n, None, None),
    ):
        p = [rules.probability_from(make(n)) for n in counts]
        assert all(a > b for a, b in zip(p, p[1:], strict=False))
        assert p[0] == 1.0 and p[-1] < 0.01
    # the verdict flips exactly past the limit
    limit = int(rules.params.hole_voxels_limit)
    assert rules.probability_from(RuleMeasurements(limit, 0, None, None)) == 0.5
    assert rules.probability_from(RuleMeasurements(limit + 1, 0, None, None)) < 0.5


class _ListDataset:
    """Just enough of VoxelDataset: len, ds[i] -> (voxels, record), and info."""

    def __init__(self, grids: list[np.ndarray]) -> None:
        self.grids = grids
        self.info = {"thresholds": {"r_p": 6.0, "r_np": 3.0, "b_p": 4.0, "b_np": 2.0}}

    def __len__(self) -> int:
        return len(self.grids)

    def __getitem__(self, i: int) -> tuple[np.ndarray, dict]:
        return self.grids[i], {"label": -1}


def test_predict_dataset_keeps_the_order_of_indices():
    narrow = drilled(BOX, (32, 32, 32), (0, 0, 1), 2.0)
    ds = _ListDataset([BOX, narrow, BOX])
    rules = RuleBaseline.for_dataset(ds)
    p = rules.predict_dataset(ds, [1, 0], progress=False)
    assert p.shape == (2,) and p.dtype == float
    assert p[0] < 0.5 < p[1]
    assert len(rules.predict_dataset(ds, progress=False)) == 3


def test_measure_can_leave_out_holes_or_walls():
    from printability.config import get_preset

    solid = np.zeros((64, 64, 64), bool)
    solid[8:56, 8:56, 20:44] = True
    solid[30:33, 30:33, :] = False  # a 3-voxel hole along z: narrow
    solid[8:56, 46:54, 26:38] = False  # a tunnel under the face y = 55: a 2-voxel wall
    both = measure(solid, get_preset("seed2021"))
    assert both.min_hole_diameter_vox is not None and both.min_wall_vox is not None
    holes = measure(solid, get_preset("seed2021"), kinds=("hole",))
    walls = measure(solid, get_preset("seed2021"), kinds=("wall",))
    assert holes.min_hole_diameter_vox == both.min_hole_diameter_vox and holes.min_wall_vox is None
    assert walls.min_wall_vox == both.min_wall_vox and walls.min_hole_diameter_vox is None


def test_the_rules_say_where_the_narrow_hole_and_the_thin_wall_are():
    from printability.config import get_preset

    solid = np.zeros((64, 64, 64), bool)
    solid[8:56, 8:56, 20:44] = True
    solid[20:23, 40:43, :] = False  # a 3-voxel hole along z, axis at x = 21, y = 41
    solid[30:50, 46:54, 26:38] = False  # a tunnel under the face y = 55: a 2-voxel wall
    m = measure(solid, get_preset("seed2021"))
    x, y, z = m.hole_at_vox
    assert (x, y) == (21, 41) and 28 <= z <= 35  # mid-way along the hole (z 20..43)
    wx, wy, wz = m.wall_at_vox
    assert 30 <= wx < 50 and wy in (54, 55) and 26 <= wz < 38
    assert solid[m.wall_at_vox]  # on the wall's material
