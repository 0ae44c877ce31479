"""Procedural, printable CAD-like base parts built with manifold3d booleans, and `make_part`,
which builds any part family (these CAD kinds or the free-form ones of `families.py`).

Each CAD kind (plate, bracket, flange, ...) is designed directly in a frame whose largest
bounding-box extent equals ``PartLimits.size_mm``.  Every wall, floor, rib and leg is made at
least ``WALL_FACTOR * min_wall_mm`` thick and every hole, slot, gap and pocket at least
``HOLE_FACTOR * min_hole_radius_mm`` in (half-)width *by construction*, so the base parts are
printable before synthetic defects are added in voxel space.  Features that do not fit are
skipped rather than squeezed.  All randomness comes from the caller's ``numpy`` generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import trimesh
from manifold3d import Manifold, OpType

from printability.geometry.design import (
    SEGMENTS,
    Design,
    PartLimits,
    box,
    cyl_z,
    design_for,
    design_minimums,
    uniform,
)
from printability.geometry.families import FAMILY_BUILDERS, FAMILY_DESCRIPTIONS

MAX_HOLES = 4  # extra through holes per part (bores and bolt circles are not counted)
PLACE_TRIES = 24  # rejection-sampling attempts per placed feature

CAD_KINDS: tuple[str, ...] = (
    "plate",
    "block",
    "cylinder",
    "l_bracket",
    "t_bracket",
    "u_bracket",
    "flange",
    "boss_plate",
    "ribbed_plate",
    "pocket_block",
)
FAMILY_KINDS: tuple[str, ...] = tuple(FAMILY_BUILDERS)
PART_KINDS: tuple[str, ...] = CAD_KINDS + FAMILY_KINDS
"""Every part family, by name: the CAD kinds, then the free-form families."""

__all__ = ["PART_KINDS", "PartLimits", "design_minimums", "make_part", "part_descriptions"]


# ----------------------------------------------------------------------------- 2D helpers


@dataclass(frozen=True)
class Circle:
    """Circle in a face's 2D coordinates; ``sdf`` is the signed distance (negative inside)."""

    x: float
    y: float
    r: float

    def sdf(self, x: float, y: float) -> float:
        return math.hypot(x - self.x, y - self.y) - self.r

    def bounds(self) -> tuple[float, float, float, float]:
        return self.x - self.r, self.y - self.r, self.x + self.r, self.y + self.r


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle with optional rounded corners (zero width gives a segment)."""

    x0: float
    y0: float
    x1: float
    y1: float
    corner: float = 0.0

    def sdf(self, x: float, y: float) -> float:
        c = self.corner
        qx = abs(x - (self.x0 + self.x1) / 2) - ((self.x1 - self.x0) / 2 - c)
        qy = abs(y - (self.y0 + self.y1) / 2) - ((self.y1 - self.y0) / 2 - c)
        return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - c

    def bounds(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1


Shape2D = Circle | Rect


@dataclass
class _Face:
    """A planar region holes may pierce along ``axis``; 2D coords are the other axes in order."""

    axis: int
    outline: Shape2D
    keepouts: list[Shape2D] = field(default_factory=list)


@dataclass
class _Draft:
    """A part before extra holes: material, subtracted features, hole-able faces, parameters."""

    solids: list[Manifold]
    cuts: list[Manifold]
    faces: list[_Face]
    params: dict


def _place_circle(
    rng: np.random.Generator,
    outline: Shape2D,
    keepouts: list[Shape2D],
    r_range: tuple[float, float],
    edge_gap: float,
    gap: float,
) -> Circle | None:
    """Rejection-sample a circle >= edge_gap inside ``outline`` and >= gap from all keepouts."""
    x0, y0, x1, y1 = outline.bounds()
    for _ in range(PLACE_TRIES):
        r = uniform(rng, *r_range)
        m = r + edge_gap
        if x1 - x0 < 2 * m or y1 - y0 < 2 * m:
            continue
        x, y = uniform(rng, x0 + m, x1 - m), uniform(rng, y0 + m, y1 - m)
        if -outline.sdf(x, y) >= m and all(k.sdf(x, y) >= r + gap for k in keepouts):
            return Circle(x, y, r)
    return None


def _rect_gap(a: Rect, b: Rect) -> float:
    """Distance between two axis-aligned rectangles (negative components mean overlap)."""
    dx = max(a.x0, b.x0) - min(a.x1, b.x1)
    dy = max(a.y0, b.y0) - min(a.y1, b.y1)
    if dx < 0 and dy < 0:
        return max(dx, dy)
    return math.hypot(max(dx, 0.0), max(dy, 0.0))


# ----------------------------------------------------------------------------- 3D helpers


def _prism(rect: Rect, z0: float, z1: float) -> Manifold:
    """Vertical extrusion of a (possibly rounded) rectangle."""
    c = rect.corner
    if c <= 0:
        return box(rect.x0, rect.y0, z0, rect.x1, rect.y1, z1)
    corners = [
        cyl_z(x, y, c, z0, z1)
        for x in (rect.x0 + c, rect.x1 - c)
        for y in (rect.y0 + c, rect.y1 - c)
    ]
    return Manifold.batch_hull(corners)


def _through_cylinder(axis: int, c: Circle, size: float) -> Manifold:
    """Cylinder along ``axis`` through the whole design volume [0, size]^3 at face coords c."""
    cyl = Manifold.cylinder(3 * size, c.r, -1.0, SEGMENTS, True)
    mid = size / 2
    if axis == 0:
        return cyl.rotate((0.0, 90.0, 0.0)).translate((mid, c.x, c.y))
    if axis == 1:
        return cyl.rotate((90.0, 0.0, 0.0)).translate((c.x, mid, c.y))
    return cyl.translate((c.x, c.y, mid))


def _hole_range(d: Design) -> tuple[float, float]:
    """Radius range of extra through holes."""
    return d.hole, max(d.hole, 0.15 * d.size)


# ----------------------------------------------------------------------------- part kinds


def _plate(rng: np.random.Generator, d: Design) -> _Draft:
    """Flat plate, optionally with rounded corners."""
    s = d.size
    width = uniform(rng, max(0.4 * s, d.thin), s)
    thick = uniform(rng, d.thin, max(d.thin, 0.3 * s))
    corner = uniform(rng, 0.0, 0.25 * width) if rng.random() < 0.5 else 0.0
    outline = Rect(0.0, 0.0, s, width, corner)
    params = {"length": s, "width": width, "thickness": thick, "corner_radius": corner}
    return _Draft([_prism(outline, 0.0, thick)], [], [_Face(2, outline)], params)


def _block(rng: np.random.Generator, d: Design) -> _Draft:
    """Chunky block, optionally with a step cut along one top edge; holes along one axis."""
    s, w = d.size, d.wall
    width, height = uniform(rng, 0.4 * s, s), uniform(rng, max(0.3 * s, d.thin), s)
    solids, cuts = [box(0.0, 0.0, 0.0, s, width, height)], []
    step_x = step_z = 0.0
    if rng.random() < 0.4 and height - w >= 0.25 * height:
        step_x, step_z = uniform(rng, 0.25 * s, 0.6 * s), uniform(rng, 0.25 * height, height - w)
        cuts.append(box(s - step_x, -1.0, height - step_z, s + 1.0, width + 1.0, height + 1.0))
    axis = int(rng.integers(3))
    if axis == 0:
        face = _Face(0, Rect(0.0, 0.0, width, height))
        if step_x:
            face.keepouts.append(Rect(0.0, height - step_z, width, height - step_z))
    elif axis == 1:
        face = _Face(1, Rect(0.0, 0.0, s, height))
        if step_x:
            face.keepouts.append(Rect(s - step_x, height - step_z, s, height))
    else:
        face = _Face(2, Rect(0.0, 0.0, s, width))
        if step_x:
            face.keepouts.append(Rect(s - step_x, 0.0, s - step_x, width))
    params = {"length": s, "width": width, "height": height, "step": [step_x, step_z]}
    return _Draft(solids, cuts, [face], params)


def _cylinder(rng: np.random.Generator, d: Design) -> _Draft:
    """Disc or upright cylinder, optionally with a coaxial bore."""
    s, w = d.size, d.wall
    if rng.random() < 0.5:
        diameter, height = s, uniform(rng, d.thin, max(d.thin, 0.6 * s))
    else:
        diameter, height = uniform(rng, max(0.35 * s, d.thin), s), s
    r = diameter / 2
    solids, cuts, keepouts = [cyl_z(r, r, r, 0.0, height)], [], []
    bore = 0.0
    if r - w >= d.hole and rng.random() < 0.75:
        bore = uniform(rng, d.hole, min(r - w, 0.6 * r))
        cuts.append(cyl_z(r, r, bore, -1.0, height + 1.0))
        keepouts.append(Circle(r, r, bore))
    face = _Face(2, Circle(r, r, r), keepouts)
    params = {"diameter": diameter, "height": height, "bore_radius": bore}
    return _Draft(solids, cuts, [face], params)


def _upright_dims(rng: np.random.Generator, d: Design, min_base: float) -> tuple[float, float]:
    """(base length along x, upright height along z); one of them equals the part size."""
    s = d.size
    if rng.random() < 0.5:
        return s, uniform(rng, max(0.4 * s, d.thin), s)
    return uniform(rng, min(max(0.4 * s, min_base), s), s), s


def _thickness(rng: np.random.Generator, d: Design) -> float:
    """Plate/leg thickness between the designed wall and a fifth of the size."""
    return uniform(rng, d.wall, max(d.wall, 0.2 * d.size))


def _gusset(
    rng: np.random.Generator,
    d: Design,
    corner: tuple[float, float],
    run: float,
    rise: float,
    width: float,
) -> tuple[Manifold, float, float, float, float]:
    """Triangular stiffener in the inside corner (x0, z0); returns solid, y0, y1, a, b."""
    x0, z0 = corner
    g = uniform(rng, d.wall, 1.5 * d.wall)
    y0 = uniform(rng, 0.0, width - g)
    a, b = uniform(rng, 0.3, 0.7) * run, uniform(rng, 0.3, 0.7) * rise
    e = 0.5 * d.wall  # sink the triangle into both plates to avoid coplanar faces
    tri = [(x0 - e, z0 - e), (x0 + a, z0 - e), (x0 - e, z0 + b)]
    pts = np.array([(x, y, z) for x, z in tri for y in (y0, y0 + g)])
    return Manifold.hull_points(pts), y0, y0 + g, a, b


def _l_bracket(rng: np.random.Generator, d: Design) -> _Draft:
    """L bracket: base plate plus an upright leg at x=0, optionally with a gusset."""
    tb, tl = _thickness(rng, d), _thickness(rng, d)
    length, height = _upright_dims(rng, d, tl + 2 * d.wall + 2 * d.hole)
    width = uniform(rng, max(0.3 * d.size, d.thin), d.size)
    solids = [box(0, 0, 0, length, width, tb), box(0, 0, 0, tl, width, height)]
    base = _Face(2, Rect(0.0, 0.0, length, width), [Rect(0.0, 0.0, tl, width)])
    leg = _Face(0, Rect(0.0, 0.0, width, height), [Rect(0.0, 0.0, width, tb)])
    params = {"length": length, "width": width, "height": height, "base_t": tb, "leg_t": tl}
    if rng.random() < 0.5:
        gus, y0, y1, a, b = _gusset(rng, d, (tl, tb), length - tl, height - tb, width)
        solids.append(gus)
        base.keepouts.append(Rect(tl, y0, tl + a, y1))
        leg.keepouts.append(Rect(y0, tb, y1, tb + b))
        params["gusset"] = [y0, y1, a, b]
    return _Draft(solids, [], [base, leg], params)


def _t_bracket(rng: np.random.Generator, d: Design) -> _Draft:
    """Inverted T: base plate with an upright web somewhere near its middle."""
    tb, tw = _thickness(rng, d), _thickness(rng, d)
    length, height = _upright_dims(rng, d, tw + 2 * d.wall)
    width = uniform(rng, max(0.3 * d.size, d.thin), d.size)
    side = max(d.wall, 0.2 * length)
    xw = uniform(rng, side, length - tw - side) if length - tw >= 2 * side else (length - tw) / 2
    solids = [box(0, 0, 0, length, width, tb), box(xw, 0, 0, xw + tw, width, height)]
    base = _Face(2, Rect(0.0, 0.0, length, width), [Rect(xw, 0.0, xw + tw, width)])
    web = _Face(0, Rect(0.0, 0.0, width, height), [Rect(0.0, 0.0, width, tb)])
    params = {
        "length": length,
        "width": width,
        "height": height,
        "base_t": tb,
        "web_t": tw,
        "web_x": xw,
    }
    return _Draft(solids, [], [base, web], params)


def _u_bracket(rng: np.random.Generator, d: Design) -> _Draft:
    """U bracket: base plate with two equal upright legs; the gap between them is a wide slot."""
    tb, tl = _thickness(rng, d), _thickness(rng, d)
    length, height = _upright_dims(rng, d, 2 * tl + 2 * d.hole)
    height = max(height, tb + d.wall)
    width = uniform(rng, max(0.3 * d.size, d.thin), d.size)
    solids = [
        box(0, 0, 0, length, width, tb),
        box(0, 0, 0, tl, width, height),
        box(length - tl, 0, 0, length, width, height),
    ]
    legs = [Rect(0.0, 0.0, tl, width), Rect(length - tl, 0.0, length, width)]
    base = _Face(2, Rect(0.0, 0.0, length, width), legs)
    leg = _Face(0, Rect(0.0, 0.0, width, height), [Rect(0.0, 0.0, width, tb)])
    params = {"length": length, "width": width, "height": height, "base_t": tb, "leg_t": tl}
    return _Draft(solids, [], [base, leg], params)


def _bolt_circle(rng: np.random.Generator, d: Design, r_out: float, r_hub: float) -> list[Circle]:
    """Evenly spaced bolt holes between the hub and the rim, or none if they do not fit."""
    w = d.wall
    r_bolt = uniform(rng, d.hole, max(d.hole, 0.1 * d.size))
    lo, hi = r_hub + w + r_bolt, r_out - w - r_bolt
    if hi < lo:
        return []
    rc = uniform(rng, lo, hi)
    # chord between neighbours must leave a wall: 2 rc sin(pi/n) >= 2 r_bolt + w
    s = (2 * r_bolt + w) / (2 * rc)
    n_max = min(6, int(math.pi / math.asin(s))) if s < 1 else 0
    if n_max < 3:
        return []
    n = int(rng.integers(3, n_max + 1))
    phase = uniform(rng, 0.0, 2 * math.pi / n)
    angles = [phase + 2 * math.pi * i / n for i in range(n)]
    return [Circle(r_out + rc * math.cos(a), r_out + rc * math.sin(a), r_bolt) for a in angles]


def _flange(rng: np.random.Generator, d: Design) -> _Draft:
    """Flange: disc plus central hub, optional bore through both, optional bolt circle."""
    s, w = d.size, d.wall
    r = s / 2
    disc_t = _thickness(rng, d)
    hub_h = uniform(rng, max(0.15 * s - disc_t, 0.1 * s), 0.5 * s)
    bore = uniform(rng, d.hole, 0.3 * r) if rng.random() < 0.85 and d.hole + w <= 0.7 * r else 0.0
    r_hub = uniform(rng, max(bore + w, w), max(bore + w, w, 0.7 * r))
    solids = [cyl_z(r, r, r, 0.0, disc_t), cyl_z(r, r, r_hub, 0.0, disc_t + hub_h)]
    cuts = [cyl_z(r, r, bore, -1.0, s + 1.0)] if bore else []
    bolts = _bolt_circle(rng, d, r, r_hub) if rng.random() < 0.8 else []
    cuts += [cyl_z(b.x, b.y, b.r, -1.0, s + 1.0) for b in bolts]
    face = _Face(2, Circle(r, r, r), [Circle(r, r, r_hub), *bolts])
    params = {
        "diameter": s,
        "disc_t": disc_t,
        "hub_height": hub_h,
        "hub_radius": r_hub,
        "bore_radius": bore,
        "bolts": [[b.x, b.y, b.r] for b in bolts],
    }
    return _Draft(solids, cuts, [face], params)


def _boss_plate(rng: np.random.Generator, d: Design) -> _Draft:
    """Plate with 1-4 cylindrical bosses on top, some bored through boss and plate."""
    s, w = d.size, d.wall
    width = uniform(rng, max(0.45 * s, 2 * (d.hole + 1.5 * w)), s)
    thick = _thickness(rng, d)
    corner = uniform(rng, 0.0, 0.2 * width) if rng.random() < 0.5 else 0.0
    outline = Rect(0.0, 0.0, s, width, corner)
    solids, cuts, bosses = [_prism(outline, 0.0, thick)], [], []
    boss_params = []
    for i in range(int(rng.integers(1, 5))):
        bored = rng.random() < 0.5
        r_lo = d.hole + w if bored else w
        r_range = (r_lo, max(r_lo, 0.22 * width))
        boss = _place_circle(rng, outline, bosses, r_range, 0.5 * w, 2 * d.hole)
        if boss is None and i == 0:  # the plate is sized so a minimal centred boss always fits
            boss = Circle(s / 2, width / 2, r_lo)
        if boss is None:
            continue
        top = thick + uniform(rng, max(0.15 * s - thick, 0.08 * s), 0.4 * s)
        solids.append(cyl_z(boss.x, boss.y, boss.r, 0.0, top))
        bore = uniform(rng, d.hole, boss.r - w) if bored else 0.0
        if bore:
            cuts.append(cyl_z(boss.x, boss.y, bore, -1.0, s + 1.0))
        bosses.append(boss)
        boss_params.append([boss.x, boss.y, boss.r, top, bore])
    params = {
        "length": s,
        "width": width,
        "thickness": thick,
        "corner_radius": corner,
        "bosses": boss_params,
    }
    return _Draft(solids, cuts, [_Face(2, outline, list(bosses))], params)


def _ribbed_plate(rng: np.random.Generator, d: Design) -> _Draft:
    """Plate with 1-4 parallel ribs along x; gaps between ribs are wide slots."""
    s, w = d.size, d.wall
    width = uniform(rng, max(0.4 * s, d.thin), s)
    thick = _thickness(rng, d)
    rib_t = uniform(rng, w, 1.5 * w)
    rib_h = uniform(rng, max(0.15 * s - thick, 0.1 * s), 0.4 * s)
    pitch_min = rib_t + 2 * d.hole
    n_max = 1 + int(max(width - rib_t, 0.0) // pitch_min)
    n = int(rng.integers(1, min(4, n_max) + 1))
    pitch = uniform(rng, pitch_min, (width - rib_t) / (n - 1)) if n > 1 else 0.0
    y_start = uniform(rng, 0.0, width - rib_t - (n - 1) * pitch)
    inset = uniform(rng, 0.0, 0.15 * s) if rng.random() < 0.5 else 0.0
    ribs = [Rect(inset, y, s - inset, y + rib_t) for y in (y_start + i * pitch for i in range(n))]
    solids = [box(0, 0, 0, s, width, thick)]
    solids += [box(r.x0, r.y0, 0.0, r.x1, r.y1, thick + rib_h) for r in ribs]
    params = {
        "length": s,
        "width": width,
        "thickness": thick,
        "rib_t": rib_t,
        "rib_h": rib_h,
        "rib_y": [r.y0 for r in ribs],
        "rib_inset": inset,
    }
    return _Draft(solids, [], [_Face(2, Rect(0.0, 0.0, s, width), list(ribs))], params)


def _place_pocket(
    rng: np.random.Generator, d: Design, outline: Rect, others: list[Rect]
) -> Rect | None:
    """Rejection-sample a pocket rectangle >= wall from the outline and the other pockets."""
    w, h = d.wall, d.hole
    for _ in range(PLACE_TRIES):
        hx = uniform(rng, h, max(h, 0.35 * outline.x1))
        hy = uniform(rng, h, max(h, outline.y1 / 2 - w))
        if outline.x1 < 2 * (hx + w) or outline.y1 < 2 * (hy + w):
            continue
        cx = uniform(rng, hx + w, outline.x1 - hx - w)
        cy = uniform(rng, hy + w, outline.y1 - hy - w)
        corner = uniform(rng, 0.0, min(hx, hy)) if rng.random() < 0.5 else 0.0
        pocket = Rect(cx - hx, cy - hy, cx + hx, cy + hy, corner)
        if all(_rect_gap(pocket, o) >= w for o in others):
            return pocket
    return None


def _pocket_block(rng: np.random.Generator, d: Design) -> _Draft:
    """Block with 1-2 blind rectangular pockets milled from the top."""
    s, w = d.size, d.wall
    width = uniform(rng, max(0.5 * s, 2 * (d.hole + w)), s)
    height = uniform(rng, max(d.thin, w + 0.1 * s), max(d.thin, w + 0.1 * s, 0.6 * s))
    outline = Rect(0.0, 0.0, s, width)
    pockets: list[Rect] = []
    cuts, pocket_params = [], []
    for _ in range(int(rng.integers(1, 3))):
        pocket = _place_pocket(rng, d, outline, pockets)
        if pocket is None:
            continue
        depth = uniform(rng, min(0.1 * s, height - w), height - w)
        cuts.append(_prism(pocket, height - depth, height + 1.0))
        pockets.append(pocket)
        pocket_params.append([pocket.x0, pocket.y0, pocket.x1, pocket.y1, pocket.corner, depth])
    params = {"length": s, "width": width, "height": height, "pockets": pocket_params}
    solids = [box(0, 0, 0, s, width, height)]
    return _Draft(solids, cuts, [_Face(2, outline, list(pockets))], params)


_BUILDERS: dict[str, Callable[[np.random.Generator, Design], _Draft]] = {
    "plate": _plate,
    "block": _block,
    "cylinder": _cylinder,
    "l_bracket": _l_bracket,
    "t_bracket": _t_bracket,
    "u_bracket": _u_bracket,
    "flange": _flange,
    "boss_plate": _boss_plate,
    "ribbed_plate": _ribbed_plate,
    "pocket_block": _pocket_block,
}


# ----------------------------------------------------------------------------- assembly


def _add_holes(rng: np.random.Generator, d: Design, faces: list[_Face]) -> list[dict]:
    """Place 0-MAX_HOLES extra through holes on random faces; holes that do not fit are skipped."""
    holes = []
    for _ in range(int(rng.integers(0, MAX_HOLES + 1))):
        face = faces[int(rng.integers(len(faces)))]
        c = _place_circle(rng, face.outline, face.keepouts, _hole_range(d), d.wall, d.wall)
        if c is not None:
            face.keepouts.append(c)
            holes.append({"axis": "xyz"[face.axis], "u": c.x, "v": c.y, "radius": c.r})
    return holes


def _to_trimesh(body: Manifold) -> trimesh.Trimesh:
    """Convert a manifold to a float64 trimesh, keeping its vertices as they are: merging
    close ones (trimesh's processing) can pinch a valid manifold into an open one."""
    mesh = body.to_mesh64()
    return trimesh.Trimesh(
        vertices=np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3],
        faces=np.asarray(mesh.tri_verts, dtype=np.int64),
        process=False,
    )


def _jsonable(value: object) -> object:
    """Convert numpy scalars / tuples inside params to plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def part_descriptions() -> dict[str, str]:
    """One line per part family, for `printability parts --list`."""
    cad = {k: (_BUILDERS[k].__doc__ or "").strip().split("\n")[0] for k in CAD_KINDS}
    return {**cad, **FAMILY_DESCRIPTIONS}


def _cad_body(rng: np.random.Generator, d: Design, kind: str) -> tuple[Manifold, dict]:
    """A CAD kind: its drafted solids and cuts plus extra through holes on its faces."""
    draft = _BUILDERS[kind](rng, d)
    holes = _add_holes(rng, d, draft.faces)
    cuts = draft.cuts + [
        _through_cylinder("xyz".index(h["axis"]), Circle(h["u"], h["v"], h["radius"]), d.size)
        for h in holes
    ]
    body = Manifold.batch_boolean(draft.solids, OpType.Add)
    if cuts:
        body = body - Manifold.batch_boolean(cuts, OpType.Add)
    return body, {**draft.params, "holes": holes}


def make_part(
    rng: np.random.Generator,
    limits: PartLimits,
    kind: str | None = None,
    kinds: tuple[str, ...] = PART_KINDS,
) -> tuple[trimesh.Trimesh, dict]:
    """Return a watertight part mesh (mm, centred on its box, largest extent `size_mm`) and
    its parameters; `kind` None draws one of `kinds`.

    The parameters are a JSON-serialisable dict with at least "kind"; positions in it are in
    the design frame, which maps to the mesh frame by scaling by "scale", then adding
    "translation". CAD kinds are designed at the final size (scale 1); free-form families are
    drawn to fit and scaled up, which only widens their walls and holes.
    """
    if kind is None:
        kind = kinds[int(rng.integers(len(kinds)))]
    if kind not in PART_KINDS:
        raise ValueError(f"unknown part kind {kind!r}; expected one of {', '.join(PART_KINDS)}")
    d = design_for(limits)
    if kind in _BUILDERS:
        body, params = _cad_body(rng, d, kind)
    else:
        body, params = FAMILY_BUILDERS[kind](rng, d)
    if body.is_empty():
        raise RuntimeError(f"generated {kind} part is empty")
    lo, hi = np.array(body.bounding_box()).reshape(2, 3)
    shift = -(lo + hi) / 2
    scale = d.size / float((hi - lo).max())
    mesh = _to_trimesh(body.translate(tuple(shift)))
    if abs(scale - 1.0) > 1e-9:  # CAD designs are exact; free-form ones are fitted here
        mesh.apply_scale(scale)
    if not (mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0):
        raise RuntimeError(f"generated {kind} part is not a valid solid")
    params = {"kind": kind, **params, "scale": scale, "translation": (shift * scale).tolist()}
    params["limits"] = {
        "min_wall_mm": limits.min_wall_mm,
        "min_hole_radius_mm": limits.min_hole_radius_mm,
        "size_mm": limits.size_mm,
    }
    return mesh, _jsonable(params)
