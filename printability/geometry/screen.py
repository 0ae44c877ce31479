"""Where a mesh has thin walls or narrow gaps, found by rays on the mesh itself, before any voxel.

From points spread over the surface, a ray along the inward normal meets the surface beyond at
the wall's thickness there, and a ray along the outward normal meets the facing surface across
a hole, a slot or a gap. Near a convex edge the inward ray runs on through the body, and near a
concave corner the outward ray runs off into the open, so edges and corners, which voxel
morphology mistakes for thin material or narrow air, do not count here. This is the usual ray
method of wall-thickness analysis in DFM tools.

`check` uses it on large parts to judge, at the fine pitch, only the windows where some wall or
gap is within a factor SCREEN_MARGIN of the process's limits: elsewhere there is nothing the
network or the rules could object to, and the whole grid would cost tens of seconds. The rays,
up to MAX_POINTS of them against the whole mesh, run in libigl's AABB tree (geometry/rays.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import trimesh

from printability.geometry.rays import RayTree

SCREEN_MARGIN = 2.0  # a wall or gap under this many times its limit is worth a closer look
MAX_POINTS = 120_000  # surface points at most (the spacing widens on very large surfaces)
MAX_PROBED = 40_000  # points at most where each side must be told by winding number (messy)
MAX_CROSSINGS = 3  # surfaces a ray passes through (inner faces, overlapping bodies) at most


@dataclass(frozen=True)
class RaySizes:
    """Per surface point (mm): the wall behind it and the gap in front of it (inf: none)."""

    points: np.ndarray  # (n, 3)
    wall_mm: np.ndarray  # (n,) along the inward normal to the next surface
    gap_mm: np.ndarray  # (n,) along the outward normal to the next surface

    def tightness(self, min_wall_mm: float, min_hole_mm: float) -> np.ndarray:
        """Each point's smaller of wall / min wall and gap / min hole: under 1 is under a limit.
        Both directions are compared with both limits' smaller ratio, so a patch whose normals
        point the wrong way (an open mesh) still shows its thin wall or narrow gap."""
        return np.minimum(self.wall_mm / min_wall_mm, self.gap_mm / min_hole_mm)


def surface_points(
    mesh: trimesh.Trimesh, spacing_mm: float, seed: int = 0, at_most: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Points on the surface with their faces' outward normals: every triangle's centre (so
    every small feature, which always has triangles of its own, gets one) and random points,
    one per spacing_mm^2 of area (large flat faces), `at_most` in all."""
    centres = np.asarray(mesh.triangles_center, float)
    normals = np.asarray(mesh.face_normals, float)
    wanted = int(min(float(mesh.area) / spacing_mm**2, max(at_most - len(centres), 0)))
    if wanted > 0:
        points, faces = trimesh.sample.sample_surface(mesh, wanted, seed=seed)
        centres = np.concatenate([centres, points])
        normals = np.concatenate([normals, normals[faces]])
    if len(centres) > at_most:  # a huge mesh: every triangle cannot have a ray
        keep = np.random.default_rng(seed).choice(len(centres), at_most, replace=False)
        centres, normals = centres[np.sort(keep)], normals[np.sort(keep)]
    return centres, normals


def ray_sizes(mesh: trimesh.Trimesh, spacing_mm: float, probe_mm: float, seed: int = 0) -> RaySizes:
    """The wall and the gap at points spread over the surface (`surface_points`).

    Meshes as exported are often unions of overlapping bodies, or carry faces inside the
    material, so the first surface a ray meets need not be the far side of the wall. Each
    side is told by the generalised winding number `probe_mm` beyond it (libigl): a point
    counts only where the surface there has material on one side and air on the other (its
    normal is turned to point into the air), a wall ends where the ray comes out into air,
    and a gap where it goes into material; rays pass on through up to MAX_CROSSINGS surfaces
    that do neither."""
    vertices = np.asarray(mesh.vertices, np.float64)
    faces = np.asarray(mesh.faces, np.int64)
    clean = mesh.is_watertight and mesh.body_count == 1
    points, normals = surface_points(mesh, spacing_mm, seed, MAX_POINTS if clean else MAX_PROBED)
    inside = _inside_test(vertices, faces)
    if not clean:  # one closed body has no inner faces: its first hits are the far sides
        ahead, behind = inside(points + probe_mm * normals), inside(points - probe_mm * normals)
        normals = np.where((ahead & ~behind)[:, None], -normals, normals)  # turned the wrong way
        boundary = ahead != behind
        points, normals = points[boundary], normals[boundary]
    tree = RayTree(vertices, faces)
    crossings = 1 if clean else MAX_CROSSINGS
    wall = _distance_to(tree, inside, points, -normals, False, probe_mm, crossings)
    gap = _distance_to(tree, inside, points, normals, True, probe_mm, crossings)
    return RaySizes(points, wall, gap)


def _inside_test(vertices: np.ndarray, faces: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function: which of some points the surface winds around (winding number >= 0.5)."""
    import igl

    def inside(points: np.ndarray) -> np.ndarray:
        query = np.ascontiguousarray(points, dtype=np.float64)
        return np.abs(igl.fast_winding_number(vertices, faces, query)) >= 0.5

    return inside


def _distance_to(
    tree: RayTree,
    inside: Callable[[np.ndarray], np.ndarray],
    points: np.ndarray,
    directions: np.ndarray,
    into_material: bool,
    probe_mm: float,
    crossings: int,
) -> np.ndarray:
    """How far each ray (against the mesh in `tree`) goes before it crosses into material
    (`into_material`) or out into air, passing through up to `crossings` - 1 surfaces that do
    neither; inf if it never does. With one crossing, the first surface met is taken as it is
    (a clean, closed body)."""
    distance = np.full(len(points), np.inf)
    travelled = np.zeros(len(points))
    active = np.arange(len(points))
    start = points + directions * (probe_mm / 2)
    for _ in range(crossings):
        if len(active) == 0:
            break
        length, _ = tree.first_hits(start[active], directions[active])
        met = np.isfinite(length)
        active, length = active[met], length[met]
        beyond = start[active] + directions[active] * (length + probe_mm)[:, None]
        done = np.ones(len(active), bool) if crossings == 1 else inside(beyond) == into_material
        travelled[active] += length + probe_mm / 2
        distance[active[done]] = travelled[active[done]]
        start[active[~done]] = beyond[~done]
        travelled[active[~done]] += probe_mm / 2
        active = active[~done]
    return distance
