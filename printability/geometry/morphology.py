"""Voxel-grid primitives the measurements share: distances, ball morphology, crops, lookups.

Two distance transforms: `distance_to_outside` (every distance, through the `edt` package,
which gives scipy.ndimage.distance_transform_edt's exact values faster:
bench/distance_transform.py) for measurements that need the full range, and `distance_sq`
(exact only as far as a ball reaches) for the dilations and erosions, which need no more.
Opening and closing by a ball are built from those dilations and erosions, so the base-part
check (geometry.measure) and the rule measurements (geometry.rule_sizes) share one definition.
"""

from __future__ import annotations

import edt
import numpy as np


def distance_to_outside(mask: np.ndarray) -> np.ndarray:
    """Per voxel of `mask`, the distance from its centre to the nearest voxel centre outside
    the mask (0 outside); the grid's border is not outside. float32, shape of `mask`."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    return edt.edt(mask, black_border=False, parallel=1)


def distance_sq(mask: np.ndarray, reach: int, outside: bool = False) -> np.ndarray:
    """Squared Euclidean distance from each voxel to the nearest True voxel, exact wherever it
    is below (reach + 1)^2 (larger values only mean "at least that far"); `outside` says whether
    the space beyond the grid counts as True. Separable min-plus passes over `reach` offsets
    per axis: a ball's reach, not the whole grid, bounds the work."""
    big = 3 * (reach + 1) ** 2  # farther than any exact value
    dtype = np.uint8 if big + reach * reach < 256 else np.uint16
    d = np.where(mask, 0, big).astype(dtype)
    for axis in range(3):
        src = np.moveaxis(d, axis, 0)
        out = src.copy()
        for k in range(1, min(reach, src.shape[0] - 1) + 1):
            kk = dtype(k * k)
            np.minimum(out[k:], src[:-k] + kk, out=out[k:])
            np.minimum(out[:-k], src[k:] + kk, out=out[:-k])
        if outside:  # beyond the grid lies True at offsets 1..reach
            for k in range(1, reach + 1):
                np.minimum(out[: min(k, len(out))], k * k, out=out[: min(k, len(out))])
                np.minimum(out[max(len(out) - k, 0) :], k * k, out=out[max(len(out) - k, 0) :])
        d = np.moveaxis(out, 0, axis)
    return d


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Voxels within `radius` of the mask (dilation by a ball)."""
    return distance_sq(mask, int(radius)) <= radius * radius


def erode(mask: np.ndarray, radius: float) -> np.ndarray:
    """Voxels farther than `radius` from everything outside the mask, the grid's outside
    included (erosion by a ball; the strict inequality keeps a ball of radius 1 at 7 voxels)."""
    return distance_sq(~mask, int(radius), outside=True) > radius * radius


def close_ball(solid: np.ndarray, radius: float) -> np.ndarray:
    """Closing by a ball: the solid plus every gap and hole the ball cannot enter. The grid
    must leave `radius` voxels of empty margin for the dilation (see `padded_crop`)."""
    return erode(dilate(solid, radius), radius)


def open_ball(solid: np.ndarray, radius: float, grow: float = 0.0) -> np.ndarray:
    """Opening by a ball: the part of the solid a ball of `radius` can sweep while inside it.
    With `grow`, the swept region is widened by that much, so voxels the ball reaches within
    `grow` of their centre are kept too."""
    return dilate(erode(solid, radius), radius + grow)


def padded_crop(solid: np.ndarray, margin: int) -> np.ndarray:
    """The solid's bounding box with `margin` empty voxels on every side (padded where the grid
    is too small): everything the closings and openings need, and less work than the grid."""
    return padded_crop_with_origin(solid, margin)[0]


def padded_crop_with_origin(solid: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """`padded_crop` and where the crop's voxel 0 lies in `solid` (negative where padded)."""
    spans = []
    for axis in range(3):
        hit = np.flatnonzero(solid.any(axis=tuple(a for a in range(3) if a != axis)))
        if len(hit) == 0:
            return np.zeros((1, 1, 1), bool), np.zeros(3, int)
        spans.append((hit[0] - margin, hit[-1] + 1 + margin))
    lo, hi = np.array(spans).T
    shape = np.array(solid.shape)
    box = tuple(slice(a, b) for a, b in zip(np.maximum(lo, 0), np.minimum(hi, shape), strict=True))
    pad = list(zip(np.maximum(-lo, 0), np.maximum(hi - shape, 0), strict=True))
    return np.pad(solid[box], pad), lo


def occupied(solid: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Occupancy of the voxels containing `points` (..., 3), float or integer coordinates;
    outside the grid counts as empty. (Truncation is the floor for the points that pass the
    `>= 0` test.)"""
    idx = points.astype(np.intp)
    inside = ((points >= 0) & (idx < solid.shape)).all(axis=-1)
    flat = np.ravel_multi_index(tuple(np.moveaxis(idx, -1, 0)), solid.shape, mode="clip")
    return solid.reshape(-1)[flat] & inside


def line_steps() -> np.ndarray:
    """One integer step per line through a voxel and its 26 neighbours (13 lines, (13, 3))."""
    offsets = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    first_nonzero = np.array([o[np.flatnonzero(o)[0]] if o.any() else 0 for o in offsets])
    return offsets[first_nonzero > 0]
