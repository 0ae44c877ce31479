"""The rule measurements: narrow holes and thin walls found by ball closings and openings.

With the thresholds r_p, r_np, b_p, b_np of a dataset (voxels):

- Narrow holes. A closing by a ball of radius (r_np + r_p) / 2 fills every hole narrower than
  that ball and leaves holes of printable radius open. Its residue (filled air) also holds the
  fillets the ball leaves in concave edges and corners of the part, but those are thin (about
  0.27 of the ball radius at a right-angled corner, ~1.2 voxels at 64^3), so only residue voxels
  whose 6 face neighbours are all residue count ("narrow_hole_voxels").
- Thin walls. An opening by a ball of radius (b_np + b_p) / 4 removes walls thinner than its
  diameter and keeps printable ones. Its residue (removed material) also holds the corners it
  cuts off convex edges, but those stay within ~1 voxel of the opened solid, while the sheet
  over a hole that runs too close to the surface is several voxels wide; so only residue voxels
  at least 2 voxels from the opened solid count ("thin_wall_voxels").

Counts are taken only in 26-connected pieces of at least 6 voxels: a hole is a tube through the
part and a thin wall a sheet, while the stray deep spots of fillets along pocket floors and of
voxel staircases come in pieces of a few voxels. Distances are exact Euclidean ones, computed
only as far as the balls reach (geometry.morphology). Out of scope: enclosed cavities wider than
the closing ball (the closing keeps them), overhangs, and anything that is not a hole or a wall.

The rule baseline (evaluate.rules) turns the counts into verdicts; `check` reports the sizes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from printability.config import Preset
from printability.geometry.morphology import (
    close_ball,
    distance_sq,
    erode,
    line_steps,
    occupied,
    open_ball,
    padded_crop_with_origin,
)

BOX_HALO = 16  # voxels of context around a box (measure_in_boxes): twice the balls' reach
_LINES = line_steps()  # the 13 lines along which wall_thickness measures runs of material


@dataclass(frozen=True)
class ResidueParams:
    """Which residue of the closings and openings counts; every value says where it comes from."""

    # a filled voxel is a hole, not a fillet, if all its 6 face neighbours are filled too
    # (fillets are <= ~1.2 voxels thick at 64^3; the thinnest small hole, r = 1.5, is 3 across)
    hole_core_radius: float = 1.0
    # removed material counts as a thin wall this far from the opened solid; what an opening
    # cuts off a convex edge or corner lies within (sqrt(3) - 1) * radius (~1.1 voxels)
    wall_depth_vox: float = 2.0
    # residue counts only in 26-connected pieces of at least this many voxels: a hole is a tube
    # through the part and a thin wall a sheet, while the deep spots that fillets along pocket
    # floors and staircase edges leave are pieces of 1-5 voxels (train split: in 1.5% of plain
    # parts the deep closing residue has > 6 voxels, in 0.4% a piece of >= 6)
    min_piece_voxels: int = 6


@dataclass(frozen=True)
class RuleMeasurements:
    """What the rules measured on one grid: evidence counts and size estimates in voxels.

    The estimates are None when the rules found nothing of that kind (no feature under the
    closing's or opening's scale)."""

    narrow_hole_voxels: int  # closing residue deep enough to be a hole, not a fillet
    thin_wall_voxels: int  # opening residue far enough from the rest to be a wall, not an edge
    min_hole_diameter_vox: float | None  # smallest narrow hole found, across
    min_wall_vox: float | None  # thinnest wall found
    # where (x, y, z voxel indices of the grid measured): on the narrowest hole's axis, and on
    # the largest thin-wall piece
    hole_at_vox: tuple[int, int, int] | None = None
    wall_at_vox: tuple[int, int, int] | None = None


def thresholds_from_dict(data: dict[str, Any]) -> Preset:
    """Thresholds as stored in dataset.json ("thresholds": r_p, r_np, b_p, b_np, ...); without
    "reference_resolution", the Preset's default grid."""
    missing = {"r_p", "r_np", "b_p", "b_np"} - set(data)
    if missing:
        raise ValueError(f"thresholds lack {sorted(missing)}: {data}")
    reference = {}
    if "reference_resolution" in data:
        reference["reference_resolution"] = int(data["reference_resolution"])
    return Preset(
        name=str(data.get("name", "custom")),
        r_p=float(data["r_p"]),
        r_np=float(data["r_np"]),
        b_p=float(data["b_p"]),
        b_np=float(data["b_np"]),
        **reference,
    )


def narrow_hole_residue(solid: np.ndarray, radius: float, core_radius: float) -> np.ndarray:
    """Air the closing by `radius` fills and that is deep in the fill (farther than
    `core_radius` from unfilled voxels): narrow holes and gaps, not fillets in concave edges."""
    filled = close_ball(solid, radius) & ~solid
    return erode(filled, core_radius)


def thin_wall_residue(solid: np.ndarray, radius: float, depth: float) -> np.ndarray:
    """Material the opening by `radius` removes at least `depth` voxels from the opened solid:
    walls thinner than the ball, not the corners it cuts off convex edges."""
    opened = open_ball(solid, radius)
    far = distance_sq(opened, int(np.ceil(depth))) >= depth * depth
    return solid & far


def keep_pieces(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """The 26-connected pieces of `mask` that have at least `min_voxels` voxels."""
    if not mask.any():
        return mask
    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    big = sizes >= min_voxels
    big[0] = False
    return big[labels]


def narrowest_hole(
    solid: np.ndarray, residue: np.ndarray, reach: int
) -> tuple[float, np.ndarray] | None:
    """Across the narrowest hole in `residue`, and where it is. Per 26-connected piece, twice
    its largest distance to the solid (`reach` must exceed the radius); the smallest piece's
    value (on the train split: 2 x radius +0.1 voxel on average, spread 0.3), and the middle of
    its axis (the voxels of the piece farthest from the solid) as (x, y, z) indices."""
    labels, n = ndimage.label(residue, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return None
    near = _box_around(residue, reach + 1)  # distances are needed only near the residue
    dist = np.sqrt(distance_sq(solid[near], reach)[residue[near]].astype(float))
    pieces = labels[near][residue[near]]
    widest = ndimage.maximum(dist, pieces, index=np.arange(1, n + 1))
    narrowest = int(np.argmin(widest))
    in_piece = np.flatnonzero(pieces == narrowest + 1)
    on_axis = in_piece[dist[in_piece] >= widest[narrowest] - 0.5]  # the axis, end to end
    points = np.argwhere(residue[near])[on_axis]
    middle = points[np.argmin(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
    return float(2 * widest[narrowest]), middle + np.array([sl.start for sl in near])


def residue_centre(residue: np.ndarray) -> np.ndarray | None:
    """Where the largest piece of `residue` is: its voxel nearest its centroid (on the piece,
    even for a curved sheet), as (x, y, z) indices; None if there is no residue."""
    labels, n = ndimage.label(residue, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return None
    largest = 1 + int(np.argmax(np.bincount(labels.ravel(), minlength=n + 1)[1:]))
    points = np.argwhere(labels == largest)
    centroid = points.mean(axis=0)
    return points[np.argmin(((points - centroid) ** 2).sum(axis=1))]


def _box_around(mask: np.ndarray, margin: int) -> tuple[slice, slice, slice]:
    """The bounding box of `mask`'s True voxels grown by `margin`, clipped to the grid."""
    box = []
    for axis in range(3):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        box.append(slice(max(hit[0] - margin, 0), hit[-1] + 1 + margin))
    return tuple(box)


def wall_thickness(solid: np.ndarray, residue: np.ndarray, max_vox: int = 8) -> float | None:
    """The thinnest wall through `residue`: per residue voxel, the shortest run of material
    through it along the 13 lines of its 3x3x3 neighbourhood (run length times step length),
    then the median over voxels. Coarse: walls of 1-2 voxels are barely resolved (train split:
    1.2 for labelled walls of 1.0, 1.6 for 2.0, correlation 0.3)."""
    points = np.argwhere(residue)
    if len(points) == 0:
        return None
    best = np.full(len(points), np.inf)
    steps = np.arange(1, max_vox + 1)
    for direction in _LINES:
        run = np.ones(len(points))
        for sign in (1, -1):
            ahead = points[:, None, :] + sign * steps[None, :, None] * direction
            inside = occupied(solid, ahead)  # (P, S)
            run += np.where(inside.all(axis=1), max_vox, np.argmin(inside, axis=1))
        best = np.minimum(best, run * np.linalg.norm(direction))
    return float(np.median(best))


def measure(
    voxels: np.ndarray,
    thresholds: Preset,
    params: ResidueParams | None = None,
    kinds: Collection[str] = ("hole", "wall"),
    core: tuple[np.ndarray, np.ndarray] | None = None,
) -> RuleMeasurements:
    """The rules' measurements of one bool grid (True = material), at `thresholds`; `kinds`
    leaves out holes or walls (their counts are then 0), e.g. for a large grid where only one
    is wanted (`check` measures them at different pitches). `core`: (low, high) voxel corners
    of the box whose residue counts, when `voxels` is a crop of a larger grid: residue near a
    crop's faces may come from the cut itself (a slab cut off a bulky body looks thin)."""
    params = params or ResidueParams()
    close_radius = (thresholds.r_np + thresholds.r_p) / 2  # fills r <= r_np, not r >= r_p
    open_radius = (thresholds.b_np + thresholds.b_p) / 4  # removes walls <= b_np, not >= b_p
    margin = int(np.ceil(close_radius)) + 1  # room for the closing's dilation
    solid, origin = padded_crop_with_origin(np.asarray(voxels, bool), margin)
    holes = walls = np.zeros((1, 1, 1), bool)
    if "hole" in kinds:
        holes = narrow_hole_residue(solid, close_radius, params.hole_core_radius)
        holes = keep_pieces(holes, params.min_piece_voxels)
    if "wall" in kinds:
        walls = thin_wall_residue(solid, open_radius, params.wall_depth_vox)
        walls = keep_pieces(walls, params.min_piece_voxels)
    if core is not None:
        holes, walls = _within(holes, core, origin), _within(walls, core, origin)
    n_holes, n_walls = int(holes.sum()), int(walls.sum())
    hole = narrowest_hole(solid, holes, int(close_radius) + 1) if n_holes else None
    wall_at = residue_centre(walls) if n_walls else None
    return RuleMeasurements(
        narrow_hole_voxels=n_holes,
        thin_wall_voxels=n_walls,
        min_hole_diameter_vox=None if hole is None else hole[0],
        min_wall_vox=wall_thickness(solid, walls) if n_walls else None,
        hole_at_vox=None if hole is None else _indices(hole[1] + origin),
        wall_at_vox=None if wall_at is None else _indices(wall_at + origin),
    )


def measure_in_boxes(
    voxels: np.ndarray,
    boxes: Sequence[tuple[np.ndarray, np.ndarray]],
    thresholds: Preset,
    params: ResidueParams | None = None,
    kinds: Collection[str] = ("hole", "wall"),
) -> RuleMeasurements:
    """`measure` of a large grid in some of its boxes ((low, high) voxel corners) only: each
    box is measured on a crop reaching BOX_HALO voxels beyond it, counting only its own
    residue; the narrowest hole and the thinnest wall over all boxes, and their places in
    `voxels`. Counts add up over boxes (overlapping boxes count their shared voxels twice)."""
    total = RuleMeasurements(0, 0, None, None)
    shape = np.array(voxels.shape)
    for low, high in boxes:
        start = np.maximum(np.asarray(low) - BOX_HALO, 0)
        stop = np.minimum(np.asarray(high) + BOX_HALO, shape)
        crop = voxels[tuple(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True))]
        core = (np.asarray(low) - start, np.asarray(high) - start)
        found = measure(crop, thresholds, params, kinds, core)
        total = _smaller(total, found, start)
    return total


def _smaller(
    best: RuleMeasurements, found: RuleMeasurements, shift: np.ndarray
) -> RuleMeasurements:
    """`best` with the counts of `found` added and its hole or wall where narrower (its
    places shifted by `shift` into the whole grid)."""
    hole, hole_at = best.min_hole_diameter_vox, best.hole_at_vox
    if found.min_hole_diameter_vox is not None and (
        hole is None or found.min_hole_diameter_vox < hole
    ):
        hole, hole_at = found.min_hole_diameter_vox, _indices(np.add(found.hole_at_vox, shift))
    wall, wall_at = best.min_wall_vox, best.wall_at_vox
    if found.min_wall_vox is not None and (wall is None or found.min_wall_vox < wall):
        wall, wall_at = found.min_wall_vox, _indices(np.add(found.wall_at_vox, shift))
    return RuleMeasurements(
        best.narrow_hole_voxels + found.narrow_hole_voxels,
        best.thin_wall_voxels + found.thin_wall_voxels,
        hole, wall, hole_at, wall_at,
    )  # fmt: skip


def _within(
    residue: np.ndarray, core: tuple[np.ndarray, np.ndarray], origin: np.ndarray
) -> np.ndarray:
    """The residue (in crop coordinates: grid voxel = crop voxel + origin) inside the grid box
    `core` = (low, high), empty elsewhere."""
    lo, hi = (np.clip(np.asarray(c) - origin, 0, residue.shape) for c in core)
    kept = np.zeros_like(residue)
    kept[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = residue[
        lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]
    ]
    return kept


def _indices(point: np.ndarray) -> tuple[int, int, int]:
    """A voxel's indices as plain ints (for JSON and equality)."""
    return int(point[0]), int(point[1]), int(point[2])
