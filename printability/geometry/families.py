"""Free-form part families beyond the CAD kinds: constructive solid geometry, extrusions and
revolutions of random profiles, shells, frames, pipes, rounded blocks, organic blobs and
multi-body assemblies, all built with manifold3d.

Each builder draws its dimensions from the caller's generator, makes walls at least
``Design.wall`` and holes, openings and gaps at least ``Design.hole`` in (half-)width where the
construction controls them, and returns the body with its parameters. Where a random
combination can still come out too thin or too narrow (a neck between blobs, a cut near an
edge), the voxel check in the generator has the last word (``base_part_problems``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from manifold3d import CrossSection, FillRule, JoinType, Manifold, OpType

from printability.geometry.design import SEGMENTS, Design, uniform

Builder = Callable[[np.random.Generator, Design], tuple[Manifold, dict]]

PROFILE_POINTS = 96  # vertices of a random closed 2D profile


def _rounded_rect(width: float, height: float, corner: float) -> CrossSection:
    """A rectangle centred on the origin with round corners of radius `corner`."""
    corner = min(corner, 0.5 * min(width, height) - 1e-6)
    if corner <= 0:
        return CrossSection.square((width, height), True)
    core = CrossSection.square((width - 2 * corner, height - 2 * corner), True)
    return core.offset(corner, JoinType.Round, circular_segments=SEGMENTS)


def _fillet(section: CrossSection, radius: float) -> CrossSection:
    """Round a profile's convex and concave corners by `radius` (an opening then a closing)."""
    if radius <= 0:
        return section
    opened = section.offset(-radius, JoinType.Round, circular_segments=SEGMENTS)
    opened = opened.offset(radius, JoinType.Round, circular_segments=SEGMENTS)
    closed = opened.offset(radius, JoinType.Round, circular_segments=SEGMENTS)
    return closed.offset(-radius, JoinType.Round, circular_segments=SEGMENTS)


def _fits_inside(disc: CrossSection, section: CrossSection, margin: float) -> bool:
    """True if `disc` grown by `margin` lies inside `section`."""
    grown = disc.offset(margin, JoinType.Round, circular_segments=SEGMENTS)
    return (grown - section).area() < 1e-6 * max(grown.area(), 1.0)


def _harmonics(rng: np.random.Generator, n: int, total: float) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes (summing to at most `total`) and phases of harmonics 2..n+1."""
    amps = rng.dirichlet(np.ones(n)) * uniform(rng, 0.0, total)
    return amps, rng.uniform(0.0, 2 * math.pi, n)


def _star_profile(rng: np.random.Generator, radius: float) -> tuple[CrossSection, dict]:
    """A closed, star-shaped random profile whose largest radius is `radius`."""
    amps, phases = _harmonics(rng, int(rng.integers(1, 5)), 0.35)
    theta = np.linspace(0.0, 2 * math.pi, PROFILE_POINTS, endpoint=False)
    k = np.arange(2, 2 + len(amps))
    shape = 1.0 + (amps[:, None] * np.cos(k[:, None] * theta + phases[:, None])).sum(axis=0)
    r = radius * shape / shape.max()
    points = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    params = {"harmonic_amplitudes": amps.tolist(), "harmonic_phases": phases.tolist()}
    return CrossSection([points], FillRule.EvenOdd), params


def _profile_holes(
    rng: np.random.Generator, d: Design, section: CrossSection, radius: float, count: int
) -> tuple[CrossSection, list[dict]]:
    """Cut up to `count` round holes that keep a wall of d.wall to the edge and each other."""
    holes: list[dict] = []
    for _ in range(count):
        for _ in range(24):
            r = uniform(rng, radius, 1.4 * radius)
            x, y = rng.uniform(-0.5 * d.size, 0.5 * d.size, 2)
            disc = CrossSection.circle(r, SEGMENTS).translate((float(x), float(y)))
            if _fits_inside(disc, section, d.wall):
                section = section - disc
                holes.append({"u": float(x), "v": float(y), "radius": r})
                break
    return section, holes


def _extrusion(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """A random rounded star profile with round holes, extruded, maybe twisted or tapered."""
    section, params = _star_profile(rng, d.size / 2)
    fillet = uniform(rng, 0.0, 0.1 * d.size)
    section = _fillet(section, fillet)
    twist = uniform(rng, 0.0, 60.0) if rng.random() < 0.3 else 0.0
    taper = uniform(rng, 0.6, 1.0) if rng.random() < 0.3 else 1.0
    # a tapered hole narrows towards the top: draw it wide enough to stay a hole there
    section, holes = _profile_holes(rng, d, section, d.hole / taper, int(rng.integers(0, 3)))
    height = uniform(rng, d.thin, d.size)
    body = section.extrude(height, 16 if twist else 0, twist, (taper, taper))
    params.update(fillet=fillet, twist_deg=twist, taper=taper, height=height, holes=holes)
    return body, params


def _revolution(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """A turned part: a random radius profile along z revolved, solid, bored or a cup."""
    height = uniform(rng, 0.3 * d.size, d.size)
    r_max = d.size / 2
    mode = str(rng.choice(["solid", "bored", "cup"]))
    inner = uniform(rng, d.hole, max(d.hole, 0.45 * r_max)) if mode != "solid" else 0.0
    r_min = inner + d.wall if inner else max(d.wall, 0.2 * r_max)
    z = np.linspace(0.0, height, 24)
    amps, phases = _harmonics(rng, int(rng.integers(1, 4)), 1.0)
    k = np.arange(1, 1 + len(amps))
    wave = (amps[:, None] * np.sin(k[:, None] * math.pi * z / height + phases[:, None])).sum(0)
    lo = uniform(rng, r_min, max(r_min, 0.7 * r_max))
    span = max(float(np.ptp(wave)), 1e-9)
    outer = lo + (wave - wave.min()) / span * (r_max - lo)
    floor = uniform(rng, d.wall, max(d.wall, 0.3 * height)) if mode == "cup" else 0.0
    outline = [(inner if mode == "bored" else 0.0, 0.0)]
    outline += [(float(r), float(zz)) for r, zz in zip(outer, z, strict=True)]
    if mode == "cup":
        outline += [(inner, height), (inner, floor), (0.0, floor)]
    else:
        outline += [(inner if mode == "bored" else 0.0, height)]
    body = CrossSection([np.array(outline)], FillRule.EvenOdd).revolve(SEGMENTS)
    params = {"mode": mode, "height": height, "inner_radius": inner, "floor": floor,
              "radii": outer.tolist(), "holes": []}  # fmt: skip
    if inner and mode == "bored":
        params["holes"].append({"u": 0.0, "v": 0.0, "radius": inner})
    return body, params


def _shell(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """An open box or cup: walls and floor of a chosen thickness, maybe windows in the sides."""
    wall = uniform(rng, d.wall, 1.6 * d.wall)
    height = uniform(rng, max(d.thin, 2 * d.wall), d.size)
    round_plan = rng.random() < 0.4
    if round_plan:
        outer = CrossSection.circle(d.size / 2, SEGMENTS)
        width = d.size
    else:
        width = uniform(rng, max(0.4 * d.size, 2 * (wall + d.hole)), d.size)
        outer = _rounded_rect(d.size, width, uniform(rng, 0.0, 0.25 * width))
    inner = outer.offset(-wall, JoinType.Round, circular_segments=SEGMENTS)
    floor = uniform(rng, d.wall, max(d.wall, 0.3 * height))
    body = outer.extrude(height) - inner.extrude(height).translate((0.0, 0.0, floor))
    holes = []
    room = height - floor - 2 * d.wall  # a window keeps a wall to the floor and to the rim
    if room >= 2 * d.hole and rng.random() < 0.5:
        r = uniform(rng, d.hole, min(1.4 * d.hole, room / 2, 0.5 * width - d.wall))
        zc = uniform(rng, floor + d.wall + r, height - d.wall - r)
        window = Manifold.cylinder(3 * d.size, r, -1.0, SEGMENTS, True).rotate((0.0, 90.0, 0.0))
        body = body - window.translate((0.0, 0.0, zc))
        holes.append({"axis": "x", "u": 0.0, "v": zc, "radius": r})
    params = {"round": round_plan, "width": width, "height": height, "wall": wall,
              "floor": floor, "holes": holes}  # fmt: skip
    return body, params


def _frame(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """A flat frame or grille: a rounded outline with a grid of rounded openings."""
    width = uniform(rng, 0.5 * d.size, d.size)
    thick = uniform(rng, d.thin, max(d.thin, 0.3 * d.size))
    bar = uniform(rng, d.wall, 2.0 * d.wall)
    # the openings fill up to two thirds of the plate's length; the rest is a solid panel
    grid_x = uniform(rng, 2 * d.hole + 2 * bar, max(2 * d.hole + 2 * bar, 0.65 * d.size))
    grid_y = uniform(rng, 2 * d.hole + 2 * bar, width)
    x0 = uniform(rng, -d.size / 2, d.size / 2 - grid_x)
    y0 = uniform(rng, -width / 2, width / 2 - grid_y)
    span = 2 * d.hole + bar
    nx = int(rng.integers(1, max(1, int((grid_x - bar) // span)) + 1))
    ny = int(rng.integers(1, max(1, int((grid_y - bar) // span)) + 1))
    cell_x, cell_y = (grid_x - bar) / nx, (grid_y - bar) / ny
    corner = uniform(rng, 0.0, 0.5 * min(cell_x, cell_y) - bar)
    section = _rounded_rect(d.size, width, uniform(rng, 0.0, 0.2 * width))
    opening = _rounded_rect(cell_x - bar, cell_y - bar, corner)
    for i in range(nx):
        for j in range(ny):
            x = x0 + bar / 2 + (i + 0.5) * cell_x
            y = y0 + bar / 2 + (j + 0.5) * cell_y
            section = section - opening.translate((x, y))
    params = {"width": width, "thickness": thick, "bar": bar, "openings": [nx, ny],
              "grid": [x0, y0, grid_x, grid_y], "corner": corner, "holes": []}  # fmt: skip
    return section.extrude(thick), params


def _pipe(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """A tube, straight with end flanges or bent into an elbow."""
    bore = uniform(rng, d.hole, max(d.hole, 0.25 * d.size))
    outer = bore + uniform(rng, d.wall, max(d.wall, 0.15 * d.size))
    ring = CrossSection.circle(outer, SEGMENTS) - CrossSection.circle(bore, SEGMENTS)
    if rng.random() < 0.5:
        length = uniform(rng, max(d.thin, 2 * outer), d.size)
        body = ring.extrude(length)
        flange_r = uniform(rng, outer, min(d.size / 2, outer + 0.3 * d.size))
        flange_t = uniform(rng, d.wall, 1.5 * d.wall)
        flange = CrossSection.circle(flange_r, SEGMENTS) - CrossSection.circle(bore, SEGMENTS)
        ends = int(rng.integers(0, 3))
        for k in range(ends):
            body = body + flange.extrude(flange_t).translate((0.0, 0.0, k * (length - flange_t)))
        params = {"shape": "straight", "length": length, "flanges": ends, "flange_r": flange_r}
    else:
        bend = uniform(rng, outer + d.wall, outer + 0.3 * d.size)
        angle = uniform(rng, 60.0, 180.0)
        body = ring.translate((bend, 0.0)).revolve(SEGMENTS, angle)
        params = {"shape": "elbow", "bend_radius": bend, "angle_deg": angle}
    params.update(bore=bore, outer=outer, holes=[{"u": 0.0, "v": 0.0, "radius": bore}])
    return body, params


def _rounded_box(size: np.ndarray, radius: float) -> Manifold:
    """A box of `size` centred on the origin with every edge rounded by `radius`."""
    radius = min(radius, 0.5 * float(size.min()) - 1e-6)
    if radius <= 0:
        return Manifold.cube(tuple(size), True)
    half = size / 2 - radius
    ball = Manifold.sphere(radius, SEGMENTS // 2)
    corners = [ball.translate((sx * half[0], sy * half[1], sz * half[2]))
               for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]  # fmt: skip
    return Manifold.batch_hull(corners)


def _through_holes(
    rng: np.random.Generator, d: Design, body: Manifold, count: int
) -> tuple[Manifold, list[dict]]:
    """Drill up to `count` axis-parallel through holes at random spots of the body's box."""
    lo, hi = np.array(body.bounding_box()).reshape(2, 3)
    holes = []
    for _ in range(count):
        axis = int(rng.integers(3))
        u_ax, v_ax = [a for a in range(3) if a != axis]
        r = uniform(rng, d.hole, 1.4 * d.hole)
        m = r + d.wall
        if min(hi[u_ax] - lo[u_ax], hi[v_ax] - lo[v_ax]) < 2 * m:
            continue
        u = uniform(rng, lo[u_ax] + m, hi[u_ax] - m)
        v = uniform(rng, lo[v_ax] + m, hi[v_ax] - m)
        drill = Manifold.cylinder(3 * d.size, r, -1.0, SEGMENTS, True)
        drill = drill.rotate(((0.0, 90.0, 0.0), (90.0, 0.0, 0.0), (0.0, 0.0, 0.0))[axis])
        centre = [0.0, 0.0, 0.0]
        centre[u_ax], centre[v_ax] = u, v
        body = body - drill.translate(tuple(centre))
        holes.append({"axis": "xyz"[axis], "u": u, "v": v, "radius": r})
    return body, holes


def _rounded_block(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """One to three rounded boxes stacked into steps, with a few through holes."""
    size = np.array([d.size, uniform(rng, 0.4 * d.size, d.size), 0.0])
    size[2] = uniform(rng, d.thin, max(d.thin, 0.5 * d.size))
    radius = uniform(rng, 0.05, 0.45) * float(size.min())
    body = _rounded_box(size, radius).translate((0.0, 0.0, size[2] / 2))
    blocks = [[*size.tolist(), radius, 0.0, size[2] / 2]]
    top = size[2]
    for _ in range(int(rng.integers(0, 3))):
        below, below_radius = size, radius
        size = np.maximum(below * [*rng.uniform(0.4, 0.9, 2), 1.0], d.thin)
        size[2] = uniform(rng, d.thin, max(d.thin, 0.4 * d.size))
        radius = uniform(rng, 0.05, 0.45) * float(size.min())
        # sink each step into the flat top of the one below, past its rounded edge
        room = max(0.0, (below[0] - size[0]) / 2 - below_radius)
        x = uniform(rng, -room, room)
        z = top - below_radius - 0.5 * d.wall + size[2] / 2
        body = body + _rounded_box(size, radius).translate((x, 0.0, z))
        blocks.append([*size.tolist(), radius, x, z])
        top = z + size[2] / 2
    body, holes = _through_holes(rng, d, body, int(rng.integers(0, 3)))
    return body, {"blocks": blocks, "holes": holes}


def _primitive(rng: np.random.Generator, d: Design, scale: float) -> tuple[Manifold, dict]:
    """A random box, cylinder, sphere, truncated cone or torus about `scale` mm across."""
    kind = str(rng.choice(["box", "cylinder", "sphere", "cone", "torus"]))
    a = uniform(rng, d.thin, scale)
    b = uniform(rng, d.thin, scale)
    if kind == "box":
        body = Manifold.cube((a, b, uniform(rng, d.thin, scale)), True)
    elif kind == "cylinder":
        body = Manifold.cylinder(b, a / 2, -1.0, SEGMENTS, True)
    elif kind == "sphere":
        body = Manifold.sphere(a / 2, SEGMENTS)
    elif kind == "cone":
        top = uniform(rng, d.wall / 2, a / 2)
        body = Manifold.cylinder(b, a / 2, top, SEGMENTS, True)
    else:
        tube = uniform(rng, d.wall / 2, max(d.wall / 2, 0.15 * scale))
        ring = max(tube + d.hole, a / 2 - tube)
        body = CrossSection.circle(tube, SEGMENTS).translate((ring, 0.0)).revolve(SEGMENTS)
        a, b = ring, tube
    return body, {"shape": kind, "a": a, "b": b}


def _random_rotation(rng: np.random.Generator) -> tuple[float, float, float]:
    """Axis-aligned quarter turns half the time, free Euler angles otherwise."""
    if rng.random() < 0.5:
        return tuple(float(90 * k) for k in rng.integers(0, 4, 3))
    return tuple(float(x) for x in rng.uniform(0.0, 360.0, 3))


def _csg(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """Random constructive solid geometry: overlapping primitives joined, then drilled."""
    prims = []
    body = None
    for _ in range(int(rng.integers(2, 5))):
        solid, info = _primitive(rng, d, 0.6 * d.size)
        rotation = _random_rotation(rng)
        if body is None:
            centre = np.zeros(3)
        else:  # anchor each new primitive inside the body so far, so the union is one piece
            lo, hi = np.array(body.bounding_box()).reshape(2, 3)
            centre = lo + (hi - lo) * rng.uniform(0.3, 0.7, 3)
        solid = solid.rotate(rotation).translate(tuple(centre))
        body = solid if body is None else body + solid
        prims.append({**info, "rotation": list(rotation), "centre": centre.tolist()})
    body, holes = _through_holes(rng, d, body, int(rng.integers(0, 3)))
    return body, {"primitives": prims, "holes": holes}


def _lump(rng: np.random.Generator, radius: float) -> tuple[Manifold, dict]:
    """A smooth potato: a sphere whose radius swells and dents in a few random directions,
    stretched along its axes (star-shaped, so always one closed solid)."""
    n = int(rng.integers(2, 6))
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    amps = rng.uniform(-0.25, 0.45, n)
    sharp = rng.uniform(1.5, 4.0, n)
    stretch = rng.uniform(0.55, 1.0, 3)

    def warp(points: np.ndarray) -> np.ndarray:
        unit = points / np.linalg.norm(points, axis=1, keepdims=True)
        bumps = amps * np.exp(sharp * (unit @ directions.T - 1.0))
        return points * np.exp(bumps.sum(axis=1))[:, None] * stretch

    body = Manifold.sphere(radius, SEGMENTS).warp_batch(warp)
    params = {"directions": directions.tolist(), "amplitudes": amps.tolist(),
              "sharpness": sharp.tolist(), "stretch": stretch.tolist()}  # fmt: skip
    return body, params


def _blob(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """An organic part: one to three smooth random lumps grown into each other."""
    body, lumps = None, []
    for _ in range(int(rng.integers(1, 4))):
        lump, info = _lump(rng, 0.3 * d.size)
        if body is None:
            centre = np.zeros(3)
        else:  # inside the body so far, so the lumps fuse into one piece
            lo, hi = np.array(body.bounding_box()).reshape(2, 3)
            centre = lo + (hi - lo) * rng.uniform(0.3, 0.7, 3)
        lump = lump.translate(tuple(centre))
        body = lump if body is None else body + lump
        lumps.append({**info, "centre": centre.tolist()})
    body, holes = _through_holes(rng, d, body, int(rng.random() < 0.4))
    return body, {"lumps": lumps, "holes": holes}


def _assembly(rng: np.random.Generator, d: Design) -> tuple[Manifold, dict]:
    """Two or three separate bodies side by side, a printable gap apart (one build plate)."""
    n = int(rng.integers(2, 4))
    gap = uniform(rng, 2 * d.hole, 3 * d.hole)
    length = (d.size - (n - 1) * gap) / n
    if length < d.thin:
        n, length = 1, d.size
    bodies, members = [], []
    x = -d.size / 2
    for _ in range(n):
        size = np.array([length, uniform(rng, d.thin, d.size), uniform(rng, d.thin, 0.6 * d.size)])
        if rng.random() < 0.5:
            member = _rounded_box(size, uniform(rng, 0.0, 0.4) * float(size.min()))
            shape = "rounded_box"
        else:
            member = Manifold.cylinder(size[2], length / 2, -1.0, SEGMENTS, True)
            shape = "cylinder"
        bodies.append(member.translate((x + length / 2, 0.0, size[2] / 2)))
        members.append({"shape": shape, "size": size.tolist(), "x": x})
        x += length + gap
    body = Manifold.batch_boolean(bodies, OpType.Add)
    return body, {"gap": gap, "members": members, "holes": []}


FAMILY_BUILDERS: dict[str, Builder] = {
    "csg": _csg,
    "extrusion": _extrusion,
    "revolution": _revolution,
    "shell": _shell,
    "frame": _frame,
    "pipe": _pipe,
    "rounded_block": _rounded_block,
    "blob": _blob,
    "assembly": _assembly,
}

FAMILY_DESCRIPTIONS: dict[str, str] = {
    name: (builder.__doc__ or "").strip().split("\n")[0]
    for name, builder in FAMILY_BUILDERS.items()
}
