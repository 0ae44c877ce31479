"""Ray/triangle intersection as arrays: where rays first meet a set of triangles, and which
triangles one ray crosses.

Two backends:
- numpy Moller-Trumbore over every (ray, triangle) pair (`first_hits`, `crossed`): exact in
  double precision and inclusive at edges and corners, for a few hundred rays against the
  triangles near one place (thickness.py) or one ray against a few bodies (mesh_io's nesting);
- libigl's AABB tree (`RayTree`): for up to a hundred thousand rays against a whole mesh
  (screen.py), where every pair would be far too many. It returns distances in single
  precision and misses rays that run exactly in the plane of a triangle's bounding box (along
  a box's face to the far side's edge), so the exact sizes are measured with numpy.

Triangles are (T, 3, 3) arrays of corners; a ray meets a triangle at t > 0 along its direction
(in units of the direction's length).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PAIRS_PER_CHUNK = 2_000_000  # (ray, triangle) pairs per numpy pass, to bound memory
PARALLEL = 1e-12  # |det| at most this: a ray along the plane of a (or a degenerate) triangle
# a parity test counts every crossing, however thin the triangle looks along the ray: only a ray
# exactly in a triangle's plane (det 0 up to rounding) is left out
PARITY_PARALLEL = 1e-18


def first_hits(
    origins: np.ndarray, directions: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per ray, the distance to the first triangle it meets and that triangle's index (inf and
    -1 for none). `origins`: one per ray (R, 3), or one point (3,) that every ray leaves from."""
    origins = np.asarray(origins, float)
    if len(triangles) == 0:
        return np.full(len(directions), np.inf), np.full(len(directions), -1)
    if origins.ndim == 1:
        return _nearest(_distances_from(origins, directions, triangles))
    lengths = np.full(len(origins), np.inf)
    indices = np.full(len(origins), -1)
    step = max(1, PAIRS_PER_CHUNK // len(triangles))
    for first in range(0, len(origins), step):
        chunk = slice(first, first + step)
        t = _pair_distances(origins[chunk], directions[chunk], triangles)
        lengths[chunk], indices[chunk] = _nearest(t)
    return lengths, indices


def crossed(point: np.ndarray, direction: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Which triangles the ray from `point` along `direction` crosses (T,) bool: with the body
    each belongs to, the parity of the crossings tells whether `point` lies inside."""
    if len(triangles) == 0:
        return np.zeros(0, bool)
    direction = np.asarray(direction, float)[None]
    t = _distances_from(np.asarray(point, float), direction, triangles, PARITY_PARALLEL)
    return np.isfinite(t[0])


class RayTree:
    """A mesh in libigl's AABB tree, for many rays against all of its faces at once (distances
    to single precision; see the module's note)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        import igl  # here: it is slow to import, and most parts never need it

        self.vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        self.faces = np.ascontiguousarray(faces, dtype=np.int64)
        self._tree: Any = igl.AABB()
        self._tree.init(self.vertices, self.faces)

    def first_hits(
        self, origins: np.ndarray, directions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per ray, the distance to the first face it meets and that face's index (inf and -1
        for none), like `first_hits` with the mesh's faces as the triangles."""
        if len(origins) == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        face, distance, _ = self._tree.intersect_ray_first(
            self.vertices, self.faces,
            np.ascontiguousarray(origins, dtype=np.float64),
            np.ascontiguousarray(directions, dtype=np.float64),
        )  # fmt: skip
        met = np.isfinite(distance)  # libigl gives NaN for a miss
        return np.where(met, distance, np.inf), np.where(met, face, -1)


def _nearest(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of (ray, triangle) distances, the smallest and its column (inf and -1: none)."""
    nearest = np.argmin(t, axis=1)
    best = t[np.arange(len(t)), nearest]
    return best, np.where(np.isfinite(best), nearest, -1)


def _distances_from(
    point: np.ndarray, directions: np.ndarray, triangles: np.ndarray, parallel: float = PARALLEL
) -> np.ndarray:
    """(R, T) distances from one `point` along each direction to each triangle (inf: missed).
    The point's per-triangle terms are computed once, so every (ray, triangle) quantity is one
    matrix product: det = -d.N, u = d.(e2 x s) / det, v = d.(s x e1) / det, and t =
    e2.(s x e1) / det."""
    v0 = triangles[:, 0]
    e1, e2 = triangles[:, 1] - v0, triangles[:, 2] - v0
    s = point - v0
    q = _cross(s, e1)
    det = -directions @ _cross(e1, e2).T
    ok = np.abs(det) > parallel
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    u = (directions @ _cross(e2, s).T) * inv
    v = (directions @ q.T) * inv
    t = np.einsum("tk,tk->t", e2, q)[None, :] * inv
    valid = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.where(valid, t, np.inf)


def _pair_distances(
    origins: np.ndarray, directions: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """(R, T) distances from each origin along its direction to each triangle (inf: missed):
    Moller-Trumbore over every pair."""
    v0 = triangles[:, 0]
    e1, e2 = triangles[:, 1] - v0, triangles[:, 2] - v0
    o, d = origins[:, None, :], directions[:, None, :]
    p = _cross(d, e2[None])
    det = np.einsum("rtk,tk->rt", p, e1)
    ok = np.abs(det) > PARALLEL
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = o - v0[None]
    u = np.einsum("rtk,rtk->rt", s, p) * inv
    q = _cross(s, e1[None])
    v = np.einsum("rtk,rtk->rt", d, q) * inv
    t = np.einsum("rtk,tk->rt", q, e2) * inv
    valid = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.where(valid, t, np.inf)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (..., 3) arrays, the same products in the same order (so the same bits),
    without its axis handling, which costs more than the products on a few triangles."""
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )
