"""Wall thickness and hole width measured on the mesh itself, where the voxel rules found them.

The rules find thin walls in a voxel grid, so their size is known to about a voxel (0.3 mm at
FDM's wall pitch). Here rays go from the surface near that place straight into the material,
along each triangle's inward normal, to the first surface they meet; where that surface faces
back (the wall's other side, not a neighbouring face in a concave corner), the distance is the
wall's thickness there. The thinnest rays give the wall. The "ray method" of thickness
analysis in CAD tools, done only locally: a few hundred rays against the nearby triangles,
in numpy (geometry/rays.py), with no tree to build.

A hole's width is measured from a point in its air (the rules' point on its axis): rays go both
ways along many directions, and the shortest chord they span between the walls is the width
(the hole's diameter for a round hole, the gap for a slot). A chord through a point off the
axis by d is only 2 sqrt(r^2 - d^2), so the point is first moved to the middle of the hole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from printability.geometry.rays import first_hits

MAX_RAYS = 512  # surface samples per measurement (on the nearest triangles)
OPPOSITE = -0.5  # cosine between the two sides' normals for a hit to count as the far side
THINNEST_FRACTION = 0.1  # the wall: this quantile of the counted rays' lengths
CHORD_DIRECTIONS = 120  # chord directions for a hole's width: about 13 degrees apart
RECENTRE_ROUNDS = 3  # moves towards a hole's middle, each halving the offset
MIDDLE_CHORDS = 4.0  # chords up to this times the shortest: their midpoints average inwards


@dataclass(frozen=True)
class Span:
    """A size measured on the mesh: `mm`, and the segment it was measured along (two points in
    the mesh's coordinates), so a report can draw what was measured."""

    mm: float
    start: np.ndarray  # (3,)
    end: np.ndarray  # (3,)


def wall_thickness_at(
    mesh: trimesh.Trimesh, point_mm: np.ndarray, radius_mm: float, max_mm: float
) -> Span | None:
    """The wall's thickness in mm near `point_mm`: a ray from each triangle within `radius_mm`
    of it (from the triangle's point nearest it), at most `max_mm` long; None when no ray finds
    the far side of a wall. The span is the counted ray nearest that thickness."""
    point = np.asarray(point_mm, float)
    triangles = np.asarray(mesh.triangles)
    normals = np.asarray(mesh.face_normals)
    lo, hi = triangles.min(axis=1), triangles.max(axis=1)
    reach = radius_mm + max_mm
    targets = np.flatnonzero(((lo <= point + reach) & (hi >= point - reach)).all(axis=1))
    near = targets[((lo[targets] <= point + radius_mm) & (hi[targets] >= point - radius_mm)).all(1)]
    if len(near) == 0:
        return None
    # one ray per nearby triangle, from its point nearest the place (the thin spot)
    starts = trimesh.triangles.closest_point(triangles[near], np.tile(point, (len(near), 1)))
    distance = np.linalg.norm(starts - point, axis=1)
    keep = np.argsort(distance)[: min(MAX_RAYS, int((distance <= radius_mm).sum()))]
    if len(keep) == 0:
        return None
    sources, origins = near[keep], starts[keep]
    directions = -normals[sources]  # into the material
    triangles = triangles[targets]
    lift = 1e-6 * max_mm  # start just inside, off the ray's own triangle
    length, hit = first_hits(origins + lift * directions, directions, triangles)
    facing = np.einsum("ij,ij->i", normals[sources], normals[targets[np.maximum(hit, 0)]])
    counted = (hit >= 0) & (length <= max_mm) & (facing < OPPOSITE)
    if not counted.any():
        return None
    thickness = float(np.quantile(length[counted], THINNEST_FRACTION))
    ray = np.flatnonzero(counted)[np.argmin(np.abs(length[counted] - thickness))]
    return Span(thickness, origins[ray], origins[ray] + (lift + length[ray]) * directions[ray])


def hole_width_at(mesh: trimesh.Trimesh, point_mm: np.ndarray, max_mm: float) -> Span | None:
    """The narrowest chord between the surfaces around `point_mm` (a point in a hole's air),
    in mm: the hole's diameter. The point is first moved towards the hole's middle, since a
    chord through a point off the axis is short of the diameter: to the mean midpoint of its
    chords across the hole, which for a round hole is halfway to the axis (RECENTRE_ROUNDS
    times). None when no chord shorter than `max_mm` closes; the span is the narrowest chord."""
    point = np.asarray(point_mm, float)
    triangles = np.asarray(mesh.triangles)
    lo, hi = triangles.min(axis=1), triangles.max(axis=1)
    directions = _sphere_directions(CHORD_DIRECTIONS)
    width, reach = None, max_mm
    for _ in range(RECENTRE_ROUNDS + 1):
        near = ((lo <= point + reach) & (hi >= point - reach)).all(axis=1)  # what rays can hit
        length, _ = first_hits(point, np.concatenate([directions, -directions]), triangles[near])
        ahead, behind = length[: len(directions)], length[len(directions) :]
        chords = ahead + behind
        closed = np.isfinite(chords) & (chords <= max_mm)
        if not closed.any():
            return width
        k = np.flatnonzero(closed)[np.argmin(chords[closed])]
        width = Span(
            float(chords[k]), point - directions[k] * behind[k], point + directions[k] * ahead[k]
        )
        short = closed & (chords <= MIDDLE_CHORDS * width.mm)
        reach = min(max_mm, MIDDLE_CHORDS * width.mm + 1.0)  # later rounds: the chords that count
        shift = (ahead[short] - behind[short]) / 2  # to each short chord's midpoint
        point = (point + directions[short] * shift[:, None]).mean(axis=0)
    return width


def _sphere_directions(count: int) -> np.ndarray:
    """`count` unit vectors spread evenly over a half sphere (a Fibonacci lattice); with their
    opposites they cover every chord direction."""
    k = np.arange(count) + 0.5
    z = k / count  # the upper half: z in (0, 1)
    phi = np.pi * (1 + 5**0.5) * k
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
