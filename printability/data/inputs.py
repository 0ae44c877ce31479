"""What a network sees: one function from an occupancy grid to the network's input.

Every stage that feeds a network (train, evaluate, tune, check, export, Grad-CAM, the windows of
a large part) goes through `model_input`, and a checkpoint records the name of its input, so a
model always sees what it was trained on. Two inputs exist:

- `occupancy`: the grid itself, (1, N, N, N) of 0/1 (FastNet and the 2021 networks).
- `distance_quarter`: 21 channels at a quarter of the resolution, (21, N/4, N/4, N/4), made
  from two distance fields of the grid: the inside distance (from a material voxel to the
  nearest air) and the outside distance (from air to the nearest material), between voxel
  centres, clipped at CLIP_VOX voxels and divided by it. Per 4^3 block:
    0    the fraction of the block that is material;
    1, 2 the largest inside and outside distance;
    3, 4 the smallest inside and outside *ridge*: a ridge voxel's distance is at least its 26
         neighbours', so it lies midway across a wall or a hole, and its distance is half the
         wall's thickness or the hole's radius (1.0 where the block has no ridge);
  and per 2^3 sub-block of the block (8 channels each, the sub-blocks in x, y, z order):
    5-12  the largest inside distance;  13-20 the smallest inside ridge.

Why distances: they carry what the labels are about. A hole's radius is the outside distance on
its axis, a wall's thickness twice the inside distance across it. A block's maximum or minimum
keeps these values exactly on a coarser grid where an average would blur them, and is the same
wherever in the block a feature lies, so the network need not learn each position of a small
hole inside a block. The wall of a round hole thickens within a 4^3 block, so thin walls also
keep their 2^3 detail. docs/benchmarks.md has the measurements behind these choices.

Computing the distances costs more than a network step, so datasets store them once, in the
compact form `encode_input` gives (uint8 at N/2: material count, largest distances and smallest
ridges per 2^3 block, squared), and `decode_input` turns that into the network's floats;
`model_input(grid) == decode_input(encode_input(grid))`. A cube symmetry of the grid is the same
symmetry of the stored form (`torch_dataset.cube_symmetry`), so augmentation turns that.
Outside the grid is air.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

CLIP_VOX = 8  # distances are clipped here: twice the printable wall, past the printable radius
NO_RIDGE = 255  # stored ridge code of a 2^3 block without a ridge voxel
ENCODE_MARGIN = CLIP_VOX + 2  # voxels beyond a region's faces that its stored input reads


@dataclass(frozen=True)
class InputSpec:
    """A network input: its channels and how much coarser than the voxel grid it is, and the
    same for its stored form (`encode_input`)."""

    name: str
    channels: int
    downsample: int
    stored_channels: int
    stored_downsample: int
    description: str

    def shape(self, resolution: int) -> tuple[int, int, int, int]:
        """(channels, n, n, n) of the network input for an N^3 voxel grid."""
        n = resolution // self.downsample
        return (self.channels, n, n, n)

    def stored_shape(self, resolution: int) -> tuple[int, int, int, int]:
        """(channels, m, m, m) of the stored form for an N^3 voxel grid."""
        m = resolution // self.stored_downsample
        return (self.stored_channels, m, m, m)


INPUTS: dict[str, InputSpec] = {
    "occupancy": InputSpec("occupancy", 1, 1, 1, 1, "the voxel grid, 0/1"),
    "distance_quarter": InputSpec(
        "distance_quarter",
        21,
        4,
        5,
        2,
        f"inside and outside distance fields (clipped at {CLIP_VOX} voxels) per 4^3 block: "
        "material fraction, largest distances, smallest ridges; per 2^3 sub-block: largest "
        "inside distance and smallest inside ridge",
    ),
}
DEFAULT_INPUT = "distance_quarter"
LEGACY_INPUT = "occupancy"  # what checkpoints that do not name their input were trained on


def get_input(name: str) -> InputSpec:
    """Look up an input by name with a clear error."""
    try:
        return INPUTS[name]
    except KeyError:
        raise ValueError(f"unknown model input {name!r}; choose from {', '.join(INPUTS)}") from None


def check_grid(name: str, shape: tuple[int, ...]) -> None:
    """A ValueError when a grid of `shape` cannot be turned into input `name`."""
    spec = get_input(name)
    if any(n % spec.downsample for n in shape[-3:]):
        raise ValueError(
            f"input {name!r} needs grid sides divisible by {spec.downsample}, got {shape[-3:]}"
        )


def encode_input(grid: np.ndarray, name: str) -> np.ndarray:
    """The stored form of input `name` for one bool grid (X, Y, Z), uint8. `occupancy`: the
    grid as (1, X, Y, Z) of 0/1. `distance_quarter`: (5, X/2, Y/2, Z/2), per 2^3 block the
    material voxel count (0..8), the largest squared inside and outside distances
    (0..CLIP_VOX^2) and the smallest squared inside and outside ridges (NO_RIDGE if none)."""
    check_grid(name, grid.shape)
    grid = np.asarray(grid, bool)
    if name == "occupancy":
        return grid[None].astype(np.uint8)
    inside = clipped_sq_distance(grid, outside_is_feature=True)
    outside = clipped_sq_distance(~grid, outside_is_feature=False)
    return np.stack(
        [
            _blocks(grid.astype(np.uint8)).sum(axis=-1, dtype=np.uint8),
            _blocks(inside).max(axis=-1),
            _blocks(outside).max(axis=-1),
            _blocks(ridges(inside, beyond=0)).min(axis=-1),
            _blocks(ridges(outside, beyond=NO_RIDGE)).min(axis=-1),
        ]
    )


def region_codes(
    grid: np.ndarray, low: np.ndarray, high: np.ndarray, name: str, block: int
) -> np.ndarray:
    """The stored input of the box from voxel `low` to `high` (on `block`s, or the grid's
    end), as if encoded on the whole grid and cut: encoded on the box and ENCODE_MARGIN around
    it, all that its codes depend on (distances are clipped at CLIP_VOX, ridges look one voxel
    further)."""
    margin = -(-ENCODE_MARGIN // block) * block
    lo = np.maximum(np.asarray(low) - margin, 0)
    hi = np.minimum(np.asarray(high) + margin, grid.shape)
    codes = encode_input(
        grid[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))], name
    )
    step = get_input(name).stored_downsample
    start, stop = (np.asarray(low) - lo) // step, (np.asarray(high) - lo) // step
    return codes[(slice(None), *(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True)))]


def decode_input(codes: np.ndarray, name: str) -> np.ndarray:
    """`encode_input`'s codes (..., C, m, m, m) as the network's float32 input."""
    if name == "occupancy":
        return codes.astype(np.float32)
    # pool the codes (max and min commute with the monotone lookup), then look up
    in_max, out_max, in_ridge, out_ridge = (codes[..., c, :, :, :] for c in (1, 2, 3, 4))
    blocks = [
        np.add.reduce(_cells(codes[..., 0, :, :, :]), dtype=np.float32) / 64,
        _DISTANCE[np.maximum.reduce(_cells(in_max))],
        _DISTANCE[np.maximum.reduce(_cells(out_max))],
        _DISTANCE[np.minimum.reduce(_cells(in_ridge))],
        _DISTANCE[np.minimum.reduce(_cells(out_ridge))],
    ]
    detail = [_DISTANCE[_sub_blocks(in_max)], _DISTANCE[_sub_blocks(in_ridge)]]
    return np.concatenate([np.stack(blocks, axis=-4), *detail], axis=-4)


def model_input(grid: np.ndarray, name: str) -> np.ndarray:
    """What a network trained on input `name` sees for one bool grid: float32 (C, n, n, n)."""
    return decode_input(encode_input(grid, name), name)


# squared distance code (0..255) -> distance / CLIP_VOX, clipped at 1 (NO_RIDGE is 1)
_DISTANCE = (np.sqrt(np.minimum(np.arange(256), CLIP_VOX**2)) / CLIP_VOX).astype(np.float32)


def _blocks(values: np.ndarray, b: int = 2) -> np.ndarray:
    """(X, Y, Z) -> (X/b, Y/b, Z/b, b^3): the voxels of every b^3 block on the last axis."""
    x, y, z = values.shape
    blocks = values.reshape(x // b, b, y // b, b, z // b, b)
    return blocks.transpose(0, 2, 4, 1, 3, 5).reshape(x // b, y // b, z // b, b**3)


def _cells(values: np.ndarray) -> list[np.ndarray]:
    """The 8 cells of every 2^3 block of the last three axes, as 8 strided views in x, y, z
    order (faster than reshaping to blocks: numpy reduces these element-wise)."""
    return [values[..., a::2, b::2, c::2] for a in (0, 1) for b in (0, 1) for c in (0, 1)]


def _sub_blocks(values: np.ndarray) -> np.ndarray:
    """(..., m, m, m) -> (..., 8, m/2, m/2, m/2): each 2^3 block's cells as 8 channels."""
    return np.stack(_cells(values), axis=-4)


def ridges(sq_distance: np.ndarray, beyond: int) -> np.ndarray:
    """The squared distance where it is at least that of all 26 neighbours and above zero (a
    ridge: midway across a wall or a hole), NO_RIDGE elsewhere; `beyond` is the value assumed
    outside the grid (0 for the inside distance: air; NO_RIDGE for the outside distance:
    farther air)."""
    top = ndimage.maximum_filter(sq_distance, size=3, mode="constant", cval=beyond)
    return np.where((sq_distance > 0) & (sq_distance >= top), sq_distance, NO_RIDGE).astype(
        np.uint8
    )


def clipped_sq_distance(mask: np.ndarray, outside_is_feature: bool) -> np.ndarray:
    """For every True voxel of `mask`, the squared distance between voxel centres to the nearest
    False voxel, clipped at CLIP_VOX^2 (uint8; 0 on False voxels). Voxels beyond the grid count
    as False when `outside_is_feature`, else as True.

    Exact below the clip: the squared Euclidean distance is a minimum over offsets of a sum of
    squared per-axis offsets, so it separates into one 1-D pass per axis (a min over the
    offsets -CLIP_VOX..CLIP_VOX, as in Felzenszwalb and Huttenlocher's transform), and no
    per-axis offset of a point within CLIP_VOX is larger than CLIP_VOX. In uint8 and limited
    to the clip, this is faster than an exact transform of the whole grid."""
    clip = CLIP_VOX
    far = clip * clip + 1  # "no feature within reach"; far + clip^2 still fits in uint8
    dist = np.where(mask, far, 0).astype(np.uint8)
    border = 0 if outside_is_feature else far
    for axis in range(mask.ndim):
        width = [(clip, clip) if a == axis else (0, 0) for a in range(mask.ndim)]
        padded = np.pad(dist, width, constant_values=border)
        out = dist.copy()
        n = dist.shape[axis]
        for k in range(1, clip + 1):
            step = np.uint8(k * k)
            for shift in (k, -k):
                window = [slice(None)] * mask.ndim
                window[axis] = slice(clip + shift, clip + shift + n)
                np.minimum(out, padded[tuple(window)] + step, out=out)
        dist = np.minimum(out, far)
    return np.minimum(dist, clip * clip)
