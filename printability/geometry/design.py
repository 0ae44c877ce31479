"""Shared ground for the procedural parts: the feature limits, their design margins, and the
few manifold3d primitives every part family builds from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manifold3d import Manifold

SEGMENTS = 48  # polygon segments of every cylinder (multiple of 4 keeps extents exact)
WALL_FACTOR = 1.3  # designed walls are this much thicker than the limit
HOLE_FACTOR = 1.08  # designed hole radii / slot half-widths are this much wider than the limit
MIN_EXTENT_FRACTION = 0.15  # smallest bounding-box extent relative to the largest


@dataclass(frozen=True)
class PartLimits:
    """Smallest features a base part may have, in mm, so it stays printable after voxelization."""

    min_wall_mm: float  # every wall / material thickness (incl. between holes and edges, ...)
    min_hole_radius_mm: float  # every hole/bore radius; also every slot/gap/pocket half-width
    size_mm: float = 100.0  # the part's largest bounding-box extent is exactly this


@dataclass(frozen=True)
class Design:
    """Design-time dimensions derived from the limits (with safety margins applied)."""

    size: float
    wall: float  # smallest wall we build
    hole: float  # smallest hole radius / slot half-width we build

    @property
    def thin(self) -> float:
        """Smallest allowed extent of a part's thinnest direction."""
        return max(self.wall, MIN_EXTENT_FRACTION * self.size)


def design_for(limits: PartLimits) -> Design:
    """Apply safety margins to the limits and reject limits no part family can honour."""
    d = Design(
        size=float(limits.size_mm),
        wall=WALL_FACTOR * float(limits.min_wall_mm),
        hole=HOLE_FACTOR * float(limits.min_hole_radius_mm),
    )
    if min(d.size, d.wall, d.hole) <= 0:
        raise ValueError(f"limits must be positive: {limits}")
    if 2 * (d.wall + d.hole) > 0.7 * d.size:
        raise ValueError(f"limits too large for size {d.size} mm: {limits}")
    return d


def design_minimums(limits: PartLimits) -> tuple[float, float]:
    """The thinnest wall and the smallest hole radius (mm) that the families build for `limits`
    (the limits with the design margins applied)."""
    return WALL_FACTOR * limits.min_wall_mm, HOLE_FACTOR * limits.min_hole_radius_mm


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform sample in [lo, hi]; returns ``lo`` (without drawing) when the range is empty."""
    return float(lo) if hi <= lo else float(rng.uniform(lo, hi))


def box(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float) -> Manifold:
    """Axis-aligned box between two corners."""
    return Manifold.cube((x1 - x0, y1 - y0, z1 - z0)).translate((x0, y0, z0))


def cyl_z(x: float, y: float, r: float, z0: float, z1: float) -> Manifold:
    """Vertical cylinder of radius ``r`` at (x, y) from z0 to z1."""
    return Manifold.cylinder(z1 - z0, r, -1.0, SEGMENTS).translate((x, y, z0))
