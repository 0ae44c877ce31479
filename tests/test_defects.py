"""Label rules at and around the thresholds, and carving on a box with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_grid

from printability.data.defects import (
    DefectFailed,
    classify_hole,
    make_defect,
    sample_class,
)
from printability.geometry.measure import WallMeasurement, hole_mask


def measured(wall: float, is_open: bool = False, length: float = 20.0) -> WallMeasurement:
    return WallMeasurement(wall, is_open, length, np.zeros(3))


@pytest.mark.parametrize(
    "radius, wall, expected",
    [
        (6.0, 4.0, "printable_hole"),  # exactly r_p and b_p: printable
        (9.0, 10.0, "printable_hole"),
        (6.0, 2.0, "thin_wall"),  # exactly b_np
        (6.0, 1.0, "thin_wall"),  # wall 1 is still a wall
        (3.0, 10.0, "small_hole"),  # exactly r_np
        (1.5, 2.0, "small_hole"),  # small holes are small whatever their wall
        (6.0, 3.0, None),  # wall between b_np and b_p: rejected
        (5.0, 10.0, None),  # radius between r_np and r_p: rejected
        (4.0, 1.0, None),
        (6.0, 0.5, None),  # less than a voxel: an open slot, not a thin wall
    ],
)
def test_label_rules(seed_thresholds, radius, wall, expected):
    kind, reason = classify_hole(radius, measured(wall), seed_thresholds)
    assert kind == expected
    assert (reason == "") == (expected is not None)


def test_open_slot_and_miss_are_rejected(seed_thresholds):
    assert classify_hole(6.0, measured(5.0, is_open=True), seed_thresholds)[0] is None
    assert (
        classify_hole(6.0, measured(0.0, length=0.0), seed_thresholds)[1] == "hole misses the part"
    )


def test_sample_is_printable_only_if_every_hole_is():
    assert sample_class(["printable_hole", "printable_hole"]) == "printable_hole"
    assert sample_class(["printable_hole", "thin_wall"]) == "thin_wall"
    assert sample_class(["thin_wall", "small_hole"]) == "small_hole"


@pytest.mark.parametrize("target", ["printable_hole", "small_hole", "thin_wall"])
def test_make_defect_gives_the_target_with_consistent_measurements(seed_thresholds, target):
    solid = box_grid()
    sample = make_defect(solid, target, seed_thresholds, np.random.default_rng(3))
    assert sample.defect == target
    (hole,), (m,) = sample.holes, sample.measurements
    assert classify_hole(hole.radius, m, seed_thresholds)[0] == target
    assert np.isclose(np.linalg.norm(hole.axis), 1.0)
    # carving only removes material, and removes exactly the voxels within the radius
    assert not (sample.voxels & ~solid).any()
    assert np.array_equal(solid & ~sample.voxels, solid & hole_mask(solid.shape, hole))


def test_make_defect_is_deterministic(seed_thresholds):
    a = make_defect(box_grid(), "thin_wall", seed_thresholds, np.random.default_rng(5))
    b = make_defect(box_grid(), "thin_wall", seed_thresholds, np.random.default_rng(5))
    assert np.array_equal(a.voxels, b.voxels)
    assert np.array_equal(a.holes[0].axis, b.holes[0].axis)


def test_several_holes_each_measured(seed_thresholds):
    rng = np.random.default_rng(11)
    sample = None
    for _ in range(5):
        sample = make_defect(
            box_grid((4, 4, 4), (60, 60, 60)), "small_hole", seed_thresholds, rng, max_holes=3
        )
        if len(sample.holes) > 1:
            break
    assert len(sample.holes) > 1
    assert len(sample.measurements) == len(sample.holes)
    assert sample.holes[0].radius <= seed_thresholds.r_np
    assert all(h.radius >= seed_thresholds.r_p for h in sample.holes[1:])


def test_part_too_thin_for_a_printable_hole_fails_with_reasons(seed_thresholds):
    sliver = box_grid((12, 12, 30), (52, 20, 36))  # 40 x 8 x 6 voxels
    with pytest.raises(DefectFailed) as info:
        make_defect(
            sliver, "printable_hole", seed_thresholds, np.random.default_rng(0), max_tries=5
        )
    assert sum(info.value.reasons.values()) == 5


def test_hole_directions_are_uniform_on_the_sphere(seed_thresholds):
    # a big cube accepts any direction, so the accepted axes must cover the sphere evenly
    cube = box_grid((2, 2, 2), (62, 62, 62))
    rng = np.random.default_rng(0)
    axes = np.array(
        [make_defect(cube, "small_hole", seed_thresholds, rng).holes[0].axis for _ in range(200)]
    )
    assert np.abs(axes.mean(axis=0)).max() < 0.15  # no preferred direction
    assert np.allclose((axes**2).mean(axis=0), 1 / 3, atol=0.08)  # isotropic


@pytest.mark.parametrize("target", ["printable_hole", "thin_wall"])
def test_radius_factor_widens_the_printable_radii(seed_thresholds, target):
    solid = box_grid((4, 4, 4), (60, 60, 60))  # room for a wide hole with its wall
    radii = {}
    for factor in (1.25, 3.0):
        radii[factor] = [
            make_defect(
                solid, target, seed_thresholds, np.random.default_rng(s), radius_factor=factor
            )
            .holes[0]
            .radius
            for s in range(8)
        ]
    r_p = seed_thresholds.r_p
    assert all(r_p <= r <= 1.25 * r_p for r in radii[1.25])
    assert all(r_p <= r <= 3.0 * r_p for r in radii[3.0])
    assert max(radii[3.0]) > 1.5 * r_p  # beyond what the default factor can give


def test_a_thin_spot_is_rejected_and_a_thin_patch_is_a_thin_wall(seed_thresholds):
    spot = WallMeasurement(1.5, False, 20.0, np.zeros(3), thin_extent_vox=1.5)
    patch = WallMeasurement(1.5, False, 20.0, np.zeros(3), thin_extent_vox=4.0)
    assert classify_hole(6.0, spot, seed_thresholds) == (None, "thin spot")
    assert classify_hole(6.0, patch, seed_thresholds) == ("thin_wall", "")
    # a printable wall has no thin rays at all: its patch extent does not matter
    wide = WallMeasurement(5.0, False, 20.0, np.zeros(3), thin_extent_vox=0.0)
    assert classify_hole(6.0, wide, seed_thresholds) == ("printable_hole", "")


@pytest.mark.parametrize("target", ["small_hole", "thin_wall", "printable_hole"])
def test_defect_mask_marks_what_makes_the_sample_unprintable(seed_thresholds, target):
    from printability.data.defects import defect_mask

    solid = box_grid()
    sample = make_defect(solid, target, seed_thresholds, np.random.default_rng(2))
    mask = defect_mask(sample, solid)
    hole = hole_mask(solid.shape, sample.holes[0])
    if target == "printable_hole":
        assert not mask.any()
    elif target == "small_hole":  # the material the hole removed
        assert np.array_equal(mask, solid & hole)
    else:  # the thin wall: material left by the hole, within b_np + 1 of it
        assert mask.any() and not (mask & ~sample.voxels).any()
        from scipy import ndimage

        near_hole = ndimage.distance_transform_edt(~hole) <= seed_thresholds.b_np + 1
        assert near_hole[mask].all()
