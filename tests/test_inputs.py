"""The network inputs made from a voxel grid (data/inputs.py), on solids whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_grid
from scipy import ndimage

from printability.data.inputs import (
    CLIP_VOX,
    clipped_sq_distance,
    decode_input,
    encode_input,
    get_input,
    model_input,
)
from printability.data.torch_dataset import cube_symmetry
from printability.geometry.measure import Hole, hole_mask


def box_with_z_hole(radius: float, wall: float) -> np.ndarray:
    """The 40 x 40 x 20 box of conftest with a hole along z whose wall to the x=12 face is
    `wall` voxels (the axis at x = 12 + wall + radius)."""
    hole = Hole(np.array([12 + wall + radius, 32.0, 32.0]), np.array([0.0, 0.0, 1.0]), radius)
    return box_grid() & ~hole_mask((64, 64, 64), hole)


@pytest.mark.parametrize("seed", [0, 1])
def test_clipped_distance_is_scipys_exact_transform_clipped(seed):
    rng = np.random.default_rng(seed)
    grid = ndimage.binary_opening(rng.random((40, 40, 40)) < 0.7)  # blobs and thin bits
    grid[15:35, 15:35, 15:35] = True  # and a thick core, farther than the clip from air
    inside = clipped_sq_distance(grid, outside_is_feature=True)
    padded = np.pad(grid, 1)  # beyond the grid is air
    exact = ndimage.distance_transform_edt(padded)[1:-1, 1:-1, 1:-1] ** 2
    np.testing.assert_array_equal(inside, np.minimum(np.round(exact), CLIP_VOX**2))
    outside = clipped_sq_distance(~grid, outside_is_feature=False)
    exact = ndimage.distance_transform_edt(~grid) ** 2
    np.testing.assert_array_equal(outside, np.minimum(np.round(exact), CLIP_VOX**2))
    assert inside.max() == CLIP_VOX**2  # the core is clipped


def test_distance_channels_carry_the_hole_radius_and_the_wall():
    spec = get_input("distance_quarter")
    small = model_input(box_with_z_hole(radius=3.0, wall=8.0), spec.name)
    wide = model_input(box_with_z_hole(radius=6.0, wall=8.0), spec.name)
    assert small.shape == wide.shape == spec.shape(64) == (21, 16, 16, 16)
    # the largest outside distance near the hole's axis is its radius, less the axis's offset
    # from the nearest voxel centre; the outside ridge (channel 4) runs along the axis
    assert 2.3 <= small[2, 4:7, 7:9, 6:10].max() * CLIP_VOX <= 3.0
    assert 5.3 <= wide[2, 5:8, 7:9, 6:10].max() * CLIP_VOX <= 6.0
    assert small[4, 4:7, 7:9, 6:10].min() * CLIP_VOX <= 3.0
    assert wide[4, 5:8, 7:9, 6:10].min() * CLIP_VOX >= 5.0
    # a wall between the hole and the x = 12 face: the inside ridge midway across it is half
    # its thickness, 1 voxel for a 2-voxel wall and 2 for a 4-voxel one (a ridge at a voxel
    # centre: thickness = 2 * distance); the sub-block maxima (5-12) see the same
    for wall, half in ((2.0, 1.0), (4.0, 2.0)):
        x = model_input(box_with_z_hole(radius=6.0, wall=wall), spec.name)
        assert x[3, 3, 7:9, 6:10].min() * CLIP_VOX == pytest.approx(half)
        assert x[5:13, 3, 7:9, 6:10].min(axis=0).min() * CLIP_VOX <= half + 0.01
    # material fraction: a full block is 1, an empty one 0; no ridge reads as 1
    plain = model_input(box_grid(), spec.name)
    assert plain[0, 5, 5, 6] == 1.0 and plain[0, 0, 0, 0] == 0.0
    assert plain[3, 0, 0, 0] == 1.0


def test_inputs_turn_with_the_grid():
    """A cube symmetry of the grid is the same symmetry of the stored form, so augmentation
    can turn what the dataset stores."""
    rng = np.random.default_rng(3)
    grid = ndimage.binary_opening(rng.random((32, 32, 32)) < 0.6)
    codes = encode_input(grid, "distance_quarter")
    for k in (1, 7, 20, 47):
        turned = encode_input(np.ascontiguousarray(cube_symmetry(grid, k)), "distance_quarter")
        np.testing.assert_array_equal(turned, cube_symmetry(codes, k))


def test_stored_form_decodes_to_the_model_input():
    grid = box_with_z_hole(radius=4.0, wall=3.0)
    codes = encode_input(grid, "distance_quarter")
    assert codes.dtype == np.uint8 and codes.shape == (5, 32, 32, 32)
    np.testing.assert_array_equal(decode_input(codes, "distance_quarter"),
                                  model_input(grid, "distance_quarter"))  # fmt: skip
    occupancy = model_input(grid, "occupancy")
    assert occupancy.shape == (1, 64, 64, 64) and occupancy.dtype == np.float32
    np.testing.assert_array_equal(occupancy[0], grid)
    assert 0.0 <= model_input(grid, "distance_quarter").min() <= 1.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown model input"):
        get_input("voxels")
    with pytest.raises(ValueError, match="divisible by 4"):
        encode_input(np.zeros((30, 30, 30), bool), "distance_quarter")
