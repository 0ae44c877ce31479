"""Centre, align and scale a part into voxel-grid coordinates.

Voxel i spans [i, i+1) on every axis, so its centre is at i + 0.5. Alignment rotates the
principal axes of inertia *of the solid* (trimesh's volume integrals, not the vertices) onto the
grid axes: the axis of least inertia (the longest direction) onto x, the greatest onto z, so a
part lies the same way in the grid however it was modelled. The rotation's rows are those axes,
so a point maps by R @ v (R.T @ v would not align it; tests/test_voxelize.py checks that a
rotated box comes out aligned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from printability.config import VoxelConfig


@dataclass(frozen=True)
class GridPlacement:
    """Mesh (mm) to voxel coordinates: v_vox = (R @ (v - origin)) * scale + shift."""

    rotation: np.ndarray  # (3, 3), rows are the part's principal axes in mesh coordinates
    origin_mm: np.ndarray  # (3,), the centre of mass in mesh coordinates
    scale: float  # voxels per mm
    shift: np.ndarray  # (3,), where the rotated origin lands in the grid

    @property
    def pitch_mm(self) -> float:
        """Edge length of one voxel in mm."""
        return 1.0 / self.scale

    def to_voxels(self, points_mm: np.ndarray) -> np.ndarray:
        """Map (n, 3) mesh points in mm to voxel coordinates."""
        return (
            np.asarray(points_mm, float) - self.origin_mm
        ) @ self.rotation.T * self.scale + self.shift

    def to_mm(self, points_vox: np.ndarray) -> np.ndarray:
        """Map (n, 3) voxel coordinates back to the mesh's own coordinates in mm."""
        return (
            np.asarray(points_vox, float) - self.shift
        ) / self.scale @ self.rotation + self.origin_mm


def principal_axes(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """Centre of mass and a right-handed rotation whose rows are the principal axes of inertia,
    least inertia first; each axis points towards the side with more surface (third moment)."""
    center = np.asarray(mesh.center_mass, float)
    inertia = np.asarray(mesh.moment_inertia, float)
    _, vectors = np.linalg.eigh((inertia + inertia.T) / 2)  # ascending eigenvalues
    axes = vectors.T.copy()
    skew = _surface_third_moments(mesh, center, axes)
    for i in range(3):
        if skew[i] < 0:
            axes[i] = -axes[i]
    if np.linalg.det(axes) < 0:  # keep it a rotation: flip the least lopsided axis
        axes[int(np.argmin(np.abs(skew)))] *= -1
    return center, axes


def place_in_grid(mesh: trimesh.Trimesh, config: VoxelConfig) -> GridPlacement:
    """Work out the placement of a watertight mesh in the grid: aligned (optional), centred, and
    scaled to fit inside the margin (fit-to-grid) or at config.pitch_mm (fixed pitch)."""
    origin, rotation, lo, hi = _frame(mesh, config.align)
    n = config.resolution
    if config.pitch_mm is None:
        extent = float((hi - lo).max())
        if extent <= 0:
            raise ValueError("mesh has zero extent")
        scale = (n - 2 * config.margin) / extent
    else:
        scale = 1.0 / config.pitch_mm
        size_vox = (hi - lo) * scale
        if size_vox.max() > n:
            raise ValueError(
                f"part is {np.round(hi - lo, 1).tolist()} mm; a {n}^3 grid at "
                f"{config.pitch_mm} mm/voxel holds {n * config.pitch_mm:.1f} mm"
            )
    shift = np.full(3, n / 2.0) - (lo + hi) / 2 * scale
    return GridPlacement(rotation, origin, float(scale), shift)


def place_at_pitch(
    mesh: trimesh.Trimesh,
    pitch_mm: float,
    align: bool = True,
    margin: int = 2,
    like: GridPlacement | None = None,
) -> tuple[GridPlacement, tuple[int, int, int]]:
    """Placement at a fixed pitch in a grid sized to the part (aligned as `place_in_grid`, or
    in the frame of the placement `like`, which saves working out the principal axes again),
    with at least `margin` empty voxels on every side; returns it and the grid's shape."""
    if pitch_mm <= 0:
        raise ValueError(f"pitch must be positive, got {pitch_mm} mm")
    if like is None:
        origin, rotation, lo, hi = _frame(mesh, align)
    else:
        origin, rotation = like.origin_mm, like.rotation
        local = (np.asarray(mesh.vertices, float) - origin) @ rotation.T
        lo, hi = local.min(axis=0), local.max(axis=0)
    scale = 1.0 / pitch_mm
    shape = np.ceil((hi - lo) * scale - 1e-6).astype(int) + 2 * margin  # 1e-6: float noise
    shift = shape / 2.0 - (lo + hi) / 2 * scale
    return GridPlacement(rotation, origin, scale, shift), tuple(int(n) for n in shape)


def _frame(
    mesh: trimesh.Trimesh, align: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Origin and rotation of the part's frame (principal axes, or the bounding box's centre
    and the mesh axes), and the part's bounds in that frame."""
    if align:
        origin, rotation = principal_axes(mesh)
    else:
        origin, rotation = np.asarray(mesh.bounds.mean(axis=0), float), np.eye(3)
    local = (np.asarray(mesh.vertices, float) - origin) @ rotation.T
    return origin, rotation, local.min(axis=0), local.max(axis=0)


def _surface_third_moments(
    mesh: trimesh.Trimesh, center: np.ndarray, axes: np.ndarray
) -> np.ndarray:
    """Area-weighted third moment of the surface per axis: a sign that turns with the part."""
    centroids = np.asarray(mesh.triangles_center, float) - center
    areas = np.asarray(mesh.area_faces, float)
    projected = centroids @ axes.T
    scale = max(float(np.abs(projected).max()), 1e-12)
    return (areas[:, None] * (projected / scale) ** 3).sum(axis=0) / max(areas.sum(), 1e-12)
