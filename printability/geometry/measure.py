"""Measurements on voxel solids: a hole's thinnest wall, and whether a base part is printable.

The wall of a hole (see docs/labels.md for the picture): in planes perpendicular to the hole
axis, march outward from the hole's surface along rays at evenly spaced angles until the ray
leaves the solid; the wall is the shortest such march. Where the hole opens to the outside
(its rims), an oblique exit leaves a thin wedge that is not a thin wall, so along each surface
line of the hole we skip `rim` voxels from either end of the stretch that runs through material.
A surface line that leaves the material and comes back, or never enters it, while the axis is
inside, means the hole breaks through the side: an open slot (wall 0).
The rays whose wall is thin form patches on the hole's surface; the size of the largest patch
(along the hole and around it) tells a thin wall from a thin spot that a grid cannot decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from printability.config import Preset
from printability.geometry.morphology import (
    close_ball,
    distance_to_outside,
    line_steps,
    occupied,
    open_ball,
)

T_STEP = 0.5  # spacing of cross-sections along the axis, voxels
S_STEP = 0.25  # radial march step, voxels
N_ANGLES = 48  # rays per cross-section


@dataclass(frozen=True)
class Hole:
    """A cylindrical through hole: all voxel centres within `radius` of the axis line."""

    center: np.ndarray  # (3,) a point on the axis, voxel coordinates
    axis: np.ndarray  # (3,) unit direction
    radius: float  # voxels


@dataclass(frozen=True)
class WallMeasurement:
    """What `measure_wall` found: the thinnest wall (capped), whether the hole is an open slot,
    the axis length inside the solid, the mid-point of the longest material stretch, and, when
    thinness was asked for, the extent of the largest patch of thin rays (else inf) and the
    voxels those rays cross (the thin wall itself, (V, 3) indices)."""

    wall_vox: float
    is_open: bool
    length_vox: float
    midpoint: np.ndarray
    thin_extent_vox: float = np.inf
    thin_voxels: np.ndarray | None = None

    @property
    def misses(self) -> bool:
        """True when the axis never runs through material."""
        return self.length_vox == 0


def hole_mask(shape: tuple[int, int, int], hole: Hole) -> np.ndarray:
    """Voxels whose centre lies within hole.radius of the hole's axis line."""
    grids = np.ogrid[: shape[0], : shape[1], : shape[2]]
    rel = [g + 0.5 - c for g, c in zip(grids, hole.center, strict=True)]
    along = rel[0] * hole.axis[0] + rel[1] * hole.axis[1] + rel[2] * hole.axis[2]
    dist2 = rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2 - along**2
    return dist2 <= hole.radius**2


def orthonormal_basis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to `axis` and to each other."""
    helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def measure_wall(
    solid: np.ndarray, hole: Hole, rim: float, cap: float, thin: float | None = None
) -> WallMeasurement:
    """Thinnest wall between `hole` and the outside of `solid` (the solid without this hole),
    ignoring `rim` voxels at each opening; walls thicker than `cap` are reported as `cap`.
    With `thin`, also the extent of the largest patch of rays whose wall is at most `thin`
    (`thin_patch_extent`) and the voxels those rays cross."""
    t = _axis_samples(solid.shape, hole)
    axis_in = occupied(solid, hole.center + t[:, None] * hole.axis)
    if not axis_in.any():
        return WallMeasurement(0.0, False, 0.0, hole.center.copy())
    walls, is_open = _ray_walls(solid, hole, rim, cap, t, axis_in)
    measured = ~np.isnan(walls)
    wall = float(walls[measured].min()) if measured.any() else cap
    extent, thin_voxels = np.inf, None
    if thin is not None:
        thin_rays = measured & (np.nan_to_num(walls, nan=np.inf) <= thin)
        extent = thin_patch_extent(thin_rays, hole.radius)
        thin_voxels = _crossed_voxels(hole, t, thin_rays, walls)
    runs = _runs(axis_in)
    a, b = max(runs, key=lambda r: r[1] - r[0])
    midpoint = hole.center + t[(a + b - 1) // 2] * hole.axis
    length = float(axis_in.sum() * T_STEP)
    return WallMeasurement(wall, is_open, length, midpoint, extent, thin_voxels)


def ray_walls(solid: np.ndarray, hole: Hole, rim: float, cap: float) -> np.ndarray:
    """The wall along every ray of `measure_wall`: (T, N_ANGLES) voxels, one row per
    cross-section T_STEP apart along the axis (within the grid), NaN where a ray is not
    measured (a rim, or no material at the hole's surface); walls thicker than `cap` read
    `cap`. For audits and figures of what the label saw."""
    t = _axis_samples(solid.shape, hole)
    axis_in = occupied(solid, hole.center + t[:, None] * hole.axis)
    return _ray_walls(solid, hole, rim, cap, t, axis_in)[0]


def _rays(axis: np.ndarray) -> np.ndarray:
    """(N_ANGLES, 3) unit vectors perpendicular to `axis`, evenly spaced around it."""
    u, v = orthonormal_basis(axis)
    angles = np.linspace(0, 2 * np.pi, N_ANGLES, endpoint=False)
    return np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v


def _ray_walls(
    solid: np.ndarray, hole: Hole, rim: float, cap: float, t: np.ndarray, axis_in: np.ndarray
) -> tuple[np.ndarray, bool]:
    """`ray_walls`, and whether the hole breaks through the side of the part (an open slot)."""
    axis_pts = hole.center + t[:, None] * hole.axis
    rays = _rays(hole.axis)
    radii = hole.radius + S_STEP * np.arange(1, int(np.ceil(cap / S_STEP)) + 2)  # (M,)
    # surface[t, k]: material just outside the hole's surface at cross-section t, angle k
    surface = occupied(solid, axis_pts[:, None, :] + radii[0] * rays[None])
    is_open = _breaks_through_side(axis_in, surface) if axis_in.any() else False
    valid = _away_from_rims(surface, int(round(rim / T_STEP)))
    walls = np.full(valid.shape, np.nan)
    if valid.any():
        ti, ki = np.nonzero(valid)
        pts = axis_pts[ti, None, :] + radii[None, :, None] * rays[ki, None, :]
        leaves = ~occupied(solid, pts)  # (P, M)
        first_out = np.where(leaves.any(axis=1), leaves.argmax(axis=1), len(radii))
        walls[ti, ki] = np.minimum(first_out * S_STEP, cap)  # material to the last inside step
    return walls, is_open


def _crossed_voxels(
    hole: Hole, t: np.ndarray, rays_on: np.ndarray, walls: np.ndarray
) -> np.ndarray:
    """The voxels (V, 3) that the rays marked in `rays_on` cross in material: their samples
    from the hole's surface up to their wall."""
    ti, ki = np.nonzero(rays_on)
    if not len(ti):
        return np.zeros((0, 3), np.int64)
    steps = int(np.round(np.nanmax(walls[ti, ki]) / S_STEP))
    radii = hole.radius + S_STEP * np.arange(1, steps + 1)
    origins = hole.center + t[ti, None] * hole.axis  # (P, 3)
    pts = origins[:, None, :] + radii[None, :, None] * _rays(hole.axis)[ki, None, :]
    crossed = np.arange(steps)[None, :] < np.round(walls[ti, ki] / S_STEP)[:, None]
    return np.unique(np.floor(pts[crossed]).astype(np.int64), axis=0)


def thin_patch_extent(thin_rays: np.ndarray, radius: float) -> float:
    """The largest extent, in voxels, of a patch of thin rays: `thin_rays[t, k]` marks the ray
    at cross-section t (T_STEP apart along the axis) and angle k (N_ANGLES around) whose wall
    is thin. Patches join rays that touch, diagonals included, around the hole's full circle.
    A patch's extent is the longer of its length along the axis and its arc on the hole's
    surface; 0 when no ray is thin."""
    if not thin_rays.any():
        return 0.0
    n_angles = thin_rays.shape[1]
    empty = np.flatnonzero(~thin_rays.any(axis=0))
    if len(empty):  # start the angles just after a column with no thin ray: no patch wraps
        thin_rays = np.roll(thin_rays, -(int(empty[0]) + 1), axis=1)
    labels, count = ndimage.label(thin_rays, structure=np.ones((3, 3), bool))
    if not len(empty):  # thin all the way around: join patches across the seam
        for a, b in zip(labels[:, 0], labels[:, -1], strict=True):
            if a and b and a != b:
                labels[labels == b] = a
    arc = 2 * np.pi * radius / n_angles
    extent = 0.0
    for patch in ndimage.find_objects(labels):
        if patch is None:
            continue
        along = (patch[0].stop - patch[0].start) * T_STEP
        around = min(patch[1].stop - patch[1].start, n_angles) * arc
        extent = max(extent, along, around)
    return float(extent)


def _axis_samples(shape: tuple[int, ...], hole: Hole) -> np.ndarray:
    """Axial positions (step T_STEP) where the axis is inside the grid box."""
    lo, hi = -np.inf, np.inf
    for c, d, n in zip(hole.center, hole.axis, shape, strict=True):
        if abs(d) < 1e-12:
            continue
        t0, t1 = sorted(((0 - c) / d, (n - c) / d))
        lo, hi = max(lo, t0), min(hi, t1)
    if not np.isfinite(lo) or hi <= lo:
        return np.zeros(1)
    return np.arange(lo, hi + T_STEP, T_STEP)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, stop) index ranges of consecutive True values in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _away_from_rims(surface: np.ndarray, rim_steps: int) -> np.ndarray:
    """Per angle (column), the material stretches of each surface line minus `rim_steps` at
    either end; a stretch too short for that keeps its middle sample(s)."""
    n = surface.shape[0]
    idx = np.arange(n)[:, None]
    last_gap = np.maximum.accumulate(np.where(surface, -1, idx), axis=0)
    next_gap = np.minimum.accumulate(np.where(surface, n, idx)[::-1], axis=0)[::-1]
    from_start, to_end = idx - last_gap - 1, next_gap - idx - 1
    margin = np.minimum(rim_steps, (from_start + to_end) // 2)
    return surface & (from_start >= margin) & (to_end >= margin)


def _breaks_through_side(axis_in: np.ndarray, surface: np.ndarray) -> bool:
    """True if, within a stretch where the axis is in material, some surface line is not one
    unbroken stretch of material: the hole opens through the side of the part."""
    for a, b in _runs(axis_in):
        inner = surface[a:b]
        starts = np.diff(inner.astype(np.int8), axis=0) == 1
        n_runs = starts.sum(axis=0) + inner[0]
        if np.any(n_runs != 1):
            return True
    return False


def base_part_problems(solid: np.ndarray, thresholds: Preset) -> list[str]:
    """Reasons a voxel solid is not printable as it is: walls thinner than b_p, or holes and
    gaps narrower than 2 r_p (enclosed cavities included). Empty list: printable.

    Walls: an opening by a ball of diameter b_p removes thin material; what it removes at
    convex edges and corners stays within (sqrt(3) - 1) * radius of the opened solid, so only
    material removed from farther away counts. Holes: a closing by a ball of radius r_p fills
    narrow holes and gaps, and also fillets concave edges; a filled voxel counts only if it is
    deeper than a fillet and solid lies on both sides of it along some line (a hole or a gap;
    a fillet has air on one side). Holes and slots under ~0.7 r_p across escape this check.
    Conservative at the thresholds (a wall of exactly b_p voxels may be flagged).
    """
    problems = []
    if not solid.any():
        return ["no material"]
    pad = int(np.ceil(thresholds.r_p)) + 2  # the closing's dilation stays off the grid's border
    lo, hi = np.argwhere(solid).min(axis=0), np.argwhere(solid).max(axis=0) + 1
    padded = np.pad(solid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))], pad)
    rho = thresholds.b_p / 2
    opened = open_ball(padded, rho, grow=0.5)  # kept: the ball comes within half a voxel
    removed = padded & ~opened
    if removed.any():
        # with nothing left after the opening, the whole part is thinner than b_p
        depth = distance_to_outside(~opened)[removed] if opened.any() else np.inf
        if np.max(depth) > (np.sqrt(3) - 1) * rho + 1.0:
            problems.append(f"wall thinner than {thresholds.b_p:g} voxels")
    filled = close_ball(padded, thresholds.r_p) & ~padded
    # fillets in concave edges and corners are ~0.3 r_p thick at most; voxel noise is 1 voxel
    deep = distance_to_outside(filled) >= max(1.5, 0.35 * thresholds.r_p)
    if deep.any() and _solid_on_both_sides(padded, np.argwhere(deep), 2 * thresholds.r_p):
        problems.append(f"hole, gap or cavity narrower than {2 * thresholds.r_p:g} voxels")
    return problems


def _solid_on_both_sides(solid: np.ndarray, voxels: np.ndarray, reach: float) -> bool:
    """True if for some voxel and some of the 13 line directions of the 3x3x3 neighbourhood,
    solid lies within `reach` both ways along the line."""
    centres = voxels + 0.5
    steps = np.arange(1.0, reach + 0.5)
    for direction in _LINE_DIRECTIONS:
        ahead = centres[:, None, :] + steps[None, :, None] * direction
        behind = centres[:, None, :] - steps[None, :, None] * direction
        both = occupied(solid, ahead).any(axis=1) & occupied(solid, behind).any(axis=1)
        if both.any():
            return True
    return False


def _line_directions() -> np.ndarray:
    """The 13 lines of `line_steps` as unit vectors."""
    steps = line_steps()
    return steps / np.linalg.norm(steps, axis=1, keepdims=True)


_LINE_DIRECTIONS = _line_directions()
