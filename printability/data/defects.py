"""Hole defects and their labels (the 2021 Defector, with rotated holes done analytically).

A defect is a cylindrical through hole along a random direction (uniform, or across the
nearest surface, where plates and walls have room for it), carved in voxel
space as every voxel whose centre lies within the radius of the axis: no rotating the grid and
back, so defective samples carry no interpolation artefacts that clean ones lack. The label is
read from what was carved: the hole's radius and its measured thinnest wall (measure.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from printability.config import DEFECT_CLASSES, Preset
from printability.geometry.measure import Hole, WallMeasurement, hole_mask, measure_wall
from printability.geometry.morphology import close_ball, distance_to_outside, occupied

N_CANDIDATES = 16  # axis points probed per placement try
N_DIRECTIONS = 8  # random axis directions probed per placement try
N_PROBE_ANGLES = 16
NORMAL_JITTER = 0.15  # spread of the surface-normal axes (about 9 degrees)


@dataclass
class DefectSample:
    """A carved sample: its voxels, class, the holes with their measurements, and why the
    placements tried before it were rejected."""

    voxels: np.ndarray
    defect: str
    holes: list[Hole] = field(default_factory=list)
    measurements: list[WallMeasurement] = field(default_factory=list)
    hole_classes: list[str] = field(default_factory=list)
    rejects: Counter = field(default_factory=Counter)


class DefectFailed(Exception):
    """No placement gave the wanted class within the allowed tries; `reasons` counts why."""

    def __init__(self, target: str, reasons: Counter) -> None:
        self.target = target
        self.reasons = reasons
        super().__init__(f"could not make {target}: {dict(reasons)}")


def rim_margin(radius: float, th: Preset) -> float:
    """How far from each opening the wall is not measured: one radius plus the printable wall."""
    return radius + th.b_p


def wall_cap(th: Preset) -> float:
    """Walls are measured up to this thickness; thicker ones are recorded as the cap."""
    return 2 * th.b_p + 2


def thin_patch_min(th: Preset) -> float:
    """A thin wall must be thin over a patch at least this long, along the hole or around it
    (voxels): a wall thin only at a spot of a voxel or two is not decidable from the grid."""
    return th.b_p


def classify_hole(radius: float, m: WallMeasurement, th: Preset) -> tuple[str | None, str]:
    """The defect class of one measured hole, or None and the reason it is rejected."""
    if m.misses:
        return None, "hole misses the part"
    if m.is_open or m.wall_vox < 1.0:
        return None, "open slot (wall < 1 voxel)"
    if radius <= th.r_np:
        return "small_hole", ""
    if radius < th.r_p:
        return None, "radius between thresholds"
    if m.wall_vox >= th.b_p:
        return "printable_hole", ""
    if m.wall_vox <= th.b_np:
        if m.thin_extent_vox < thin_patch_min(th):
            return None, "thin spot"
        return "thin_wall", ""
    return None, "wall between thresholds"


def defect_mask(sample: DefectSample, solid: np.ndarray) -> np.ndarray:
    """The voxels that make `sample` (carved from `solid`) not printable: the material a small
    hole removed, or the material of a thin wall (the voxels its thin rays cross); none for a
    printable sample. Training can supervise where the defect is with it, not only whether."""
    if sample.defect not in ("small_hole", "thin_wall"):
        return np.zeros(solid.shape, bool)
    # the first hole is the wanted defect (make_defect); later ones are printable holes
    hole, m = sample.holes[0], sample.measurements[0]
    if sample.defect == "small_hole":
        return hole_mask(solid.shape, hole) & solid
    return _as_mask(m.thin_voxels, solid.shape) & sample.voxels


def measured_thin_wall(carved: np.ndarray, hole: Hole, th: Preset) -> np.ndarray:
    """The thin wall of a hole already carved from a sample (as `defect_mask` finds it when
    the sample is made), for a sample stored without its mask: the hole is filled back where
    the part surrounds it, since measure_wall measures a hole in the solid without it."""
    margin = int(np.ceil(hole.radius)) + 3  # close_ball needs an empty margin to dilate into
    closed = close_ball(np.pad(carved, margin), hole.radius + 1)
    inner = tuple(slice(margin, margin + n) for n in carved.shape)
    solid = carved | (closed[inner] & hole_mask(carved.shape, hole))
    m = measure_wall(solid, hole, rim_margin(hole.radius, th), wall_cap(th), th.b_np)
    return _as_mask(m.thin_voxels, carved.shape) & carved


def _as_mask(voxels: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Voxel indices (V, 3) as a bool grid of `shape`; those outside it are dropped."""
    mask = np.zeros(shape, bool)
    if voxels is not None:
        voxels = voxels[((voxels >= 0) & (voxels < shape)).all(axis=1)]
        mask[tuple(voxels.T)] = True
    return mask


def sample_class(hole_classes: list[str]) -> str:
    """A sample is printable iff every hole is; otherwise it takes the first defect found."""
    for worst in ("small_hole", "thin_wall"):
        if worst in hole_classes:
            return worst
    return "printable_hole"


def make_defect(
    solid: np.ndarray,
    target: str,
    th: Preset,
    rng: np.random.Generator,
    max_holes: int = 1,
    max_tries: int = 40,
    radius_factor: float = 1.25,
    material: Material | None = None,
) -> DefectSample:
    """Carve 1..max_holes holes into `solid`: the first measures as `target`, any others as
    printable holes (so the manifest's hole figures describe the defect). Printable-radius holes
    are drawn from r_p to radius_factor * r_p. `material`: `Material.of(solid)`, when the
    caller carves several defects into one solid."""
    if target not in DEFECT_CLASSES or target == "no_defect":
        raise ValueError(f"not a hole defect: {target!r}")
    reasons: Counter = Counter()
    material = Material.of(solid) if material is None else material
    n_holes = int(rng.integers(1, max_holes + 1))  # drawn once, so retries do not favour one hole
    kinds = [target] + ["printable_hole"] * (n_holes - 1)
    for _ in range(max_tries):
        holes = _place_holes(material, kinds, th, rng, radius_factor)
        if holes is None:
            reasons["no place for the hole"] += 1
            continue
        sample, reason = _carve_and_label(solid, holes, th)
        if sample is None:
            reasons[reason] += 1
        elif sample.hole_classes != kinds:
            wrong = next(c for c, k in zip(sample.hole_classes, kinds, strict=True) if c != k)
            reasons[f"measured {wrong}"] += 1
        else:
            sample.rejects = reasons
            return sample
    raise DefectFailed(target, reasons)


@dataclass
class Material:
    """A solid with what hole proposals draw from: its voxels, and at each voxel the direction
    across the nearest surface (the gradient of the distance to air), along which a hole
    passes straight through a plate or a wall."""

    solid: np.ndarray
    voxels: np.ndarray  # (V, 3) indices of the material voxels
    normals: np.ndarray  # (3, X, Y, Z) float32, not normalised; zero on ridges

    @classmethod
    def of(cls, solid: np.ndarray) -> Material:
        depth = distance_to_outside(solid)
        return cls(solid, np.argwhere(solid), np.stack(np.gradient(depth)))

    def normal_axes(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Unit axes near the surface normal at `points` (jittered by NORMAL_JITTER; random
        where the gradient vanishes)."""
        i, j, k = np.clip(np.floor(points).astype(int), 0, np.array(self.solid.shape) - 1).T
        axes = self.normals[:, i, j, k].T.astype(float)
        length = np.linalg.norm(axes, axis=1, keepdims=True)
        noise = rng.normal(size=axes.shape)
        axes = np.where(length > 1e-6, axes / np.maximum(length, 1e-6), noise)
        axes = axes + NORMAL_JITTER * rng.normal(size=axes.shape)
        return axes / np.linalg.norm(axes, axis=1, keepdims=True)


def _place_holes(
    material: Material,
    kinds: list[str],
    th: Preset,
    rng: np.random.Generator,
    radius_factor: float = 1.25,
) -> list[Hole] | None:
    """Propose one hole per kind, each in material left by the ones before."""
    holes: list[Hole] = []
    for kind in kinds:
        if holes:  # later holes go into what the earlier ones left
            material = Material.of(material.solid & ~hole_mask(material.solid.shape, holes[-1]))
        hole = _propose_hole(material, kind, th, rng, radius_factor)
        if hole is None:
            return None
        holes.append(hole)
    return holes


def _propose_hole(
    material: Material,
    kind: str,
    th: Preset,
    rng: np.random.Generator,
    radius_factor: float = 1.25,
) -> Hole | None:
    """A radius for `kind`, and an axis (direction and point) drawn uniformly from the probed
    pairs whose cross-section has room for the wall that `kind` needs. Probed: N_DIRECTIONS
    random directions at each of N_CANDIDATES random material points, and at each point the
    direction across its nearest surface, which finds room in plates and walls."""
    if kind == "small_hole":
        radius = rng.uniform(max(1.0, th.r_np / 2), th.r_np)
        wall_lo, wall_hi = 1.5, np.inf
    elif kind == "thin_wall":
        radius = rng.uniform(th.r_p, radius_factor * th.r_p)
        wall_lo, wall_hi = 1.0, th.b_np
    else:
        radius = rng.uniform(th.r_p, radius_factor * th.r_p)
        wall_lo, wall_hi = th.b_p + 0.5, np.inf
    filled = material.voxels
    if len(filled) == 0:
        return None
    axes = rng.normal(size=(N_DIRECTIONS, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    points = filled[rng.integers(0, len(filled), N_CANDIDATES)] + rng.random((N_CANDIDATES, 3))
    pair_points = np.concatenate([np.tile(points, (N_DIRECTIONS, 1)), points])
    pair_axes = np.concatenate([np.repeat(axes, N_CANDIDATES, axis=0),
                                material.normal_axes(points, rng)])  # fmt: skip
    reach = (wall_hi if np.isfinite(wall_hi) else wall_lo) + 0.5
    walls = _probe_walls(material.solid, pair_points, pair_axes, radius, reach)
    fits = np.flatnonzero((walls >= wall_lo) & (walls <= wall_hi))
    if len(fits) == 0:
        return None
    pick = fits[rng.integers(len(fits))]
    return Hole(pair_points[pick], pair_axes[pick], float(radius))


def _probe_walls(
    solid: np.ndarray, points: np.ndarray, axes: np.ndarray, radius: float, reach: float
) -> np.ndarray:
    """Per (point, axis) pair (K,): the thinnest wall around a hole through that point along
    that axis, in that one cross-section: N_PROBE_ANGLES rays out to `reach` past the hole."""
    helper = np.where(np.abs(axes[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(axes, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axes, u)
    angles = np.linspace(0, 2 * np.pi, N_PROBE_ANGLES, endpoint=False)
    rays = np.cos(angles)[None, :, None] * u[:, None] + np.sin(angles)[None, :, None] * v[:, None]
    steps = radius + 0.25 * np.arange(1, int(np.ceil(4 * reach)) + 1)
    # (K, A, S, 3): pairs x rays x steps
    pts = points[:, None, None, :] + steps[None, None, :, None] * rays[:, :, None, :]
    leaves = ~occupied(solid, pts)
    first_out = np.where(leaves.any(axis=-1), leaves.argmax(axis=-1), len(steps))
    return (first_out * 0.25).min(axis=-1)


def _carve_and_label(
    solid: np.ndarray, holes: list[Hole], th: Preset
) -> tuple[DefectSample | None, str]:
    """Carve all holes, then measure each against the solid with only the *other* holes."""
    masks = [hole_mask(solid.shape, h) for h in holes]
    carved = solid.copy()
    for mask in masks:
        carved &= ~mask
    measurements, classes = [], []
    for i, hole in enumerate(holes):
        others = solid.copy()
        for j, mask in enumerate(masks):
            if j != i:
                others &= ~mask
        m = measure_wall(others, hole, rim_margin(hole.radius, th), wall_cap(th), th.b_np)
        kind, reason = classify_hole(hole.radius, m, th)
        if kind is None:
            return None, reason
        measurements.append(m)
        classes.append(kind)
    return DefectSample(carved, sample_class(classes), holes, measurements, classes), ""
