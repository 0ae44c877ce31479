"""Load meshes from disk (STL, OBJ, PLY, OFF, 3MF, GLB) in millimetres, and repair them.

Every failure is a MeshError whose message is one line naming the file and the reason, so a
batch can report it and go on.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import trimesh
from scipy import sparse
from scipy.sparse import csgraph

from printability.config import UNIT_CHOICES, UNITS_TO_MM
from printability.errors import MeshError
from printability.geometry.rays import crossed

MESH_SUFFIXES: tuple[str, ...] = (".stl", ".obj", ".ply", ".off", ".3mf", ".glb", ".gltf")
MAX_NESTED_BODIES = 256  # bodies tested for nesting (cavities); beyond, all face outward
_RAY_JITTER = np.array([1.3e-7, 1.1e-7, 0.0])  # off round coordinates, relative to the extent
UP = np.array([0.0, 0.0, 1.0])  # the nesting test's rays
MAX_OPENING_SHARE = 0.1  # openings over this share of a surface's area: a sheet, not a solid
PLAUSIBLE_MM = (3.0, 2000.0)  # the largest extent of a printed part, in mm, smallest to largest
TYPICAL_MM = (3.0, 1000.0)  # the same, for most printed parts
GUESSES = ("m", "inch", "cm")  # what else a unit-less file may be in, likeliest first

# trimesh logs parse trouble at warning level; our own one-line errors say it better.
logging.getLogger("trimesh").setLevel(logging.ERROR)


def find_meshes(folder: str | Path) -> list[Path]:
    """All mesh files under `folder` (recursive), sorted so the order is reproducible."""
    root = Path(folder)
    if not root.is_dir():
        raise MeshError(root, "not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


def load_mesh(path: str | Path, units: str = "auto") -> trimesh.Trimesh:
    """Read one mesh file as a single triangle mesh in mm; a scene's parts are concatenated.

    `units` is what the file's numbers mean when the format does not say (3MF does); "auto"
    reads them as mm unless that makes an implausible part (`guess_units`). The mesh's
    metadata says how they were read: "units" (the unit taken) and "units_assumed" (the unit
    "auto" chose over mm, else None).
    """
    path = Path(path)
    if units not in UNIT_CHOICES:
        raise MeshError(path, f"unknown units {units!r}; choose from {', '.join(UNIT_CHOICES)}")
    if not path.exists():
        raise MeshError(path, "no such file")
    if not path.is_file():
        raise MeshError(path, "not a file")
    if path.stat().st_size == 0:
        raise MeshError(path, "empty file")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshError(path, f"unsupported format {path.suffix!r}")
    try:
        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise MeshError(path, f"cannot parse ({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshError(path, "no triangles in file")
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    if not np.isfinite(vertices).all():
        raise MeshError(path, "vertex coordinates contain NaN or inf")
    faces = np.asarray(loaded.faces)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError(path, "faces refer to vertices that do not exist")
    used = np.zeros(len(vertices), bool)
    used[faces.ravel()] = True  # the vertices faces use, in order (faster than np.unique)
    scale, taken, assumed = _scale_to_mm(loaded, units, vertices[used])
    mesh = trimesh.Trimesh(vertices * scale, faces, process=False)
    mesh.metadata.update(units=taken, units_assumed=assumed)
    return mesh


def guess_units(largest_extent: float) -> str:
    """The unit a unit-less file's numbers most likely are, from the part's largest extent:
    the first of mm and GUESSES that makes a typical printed part (TYPICAL_MM), else the first
    that makes a plausible one (PLAUSIBLE_MM), else mm (the row notes the odd size). So 0.26
    is read as metres (260 mm), 1.6 as inches (41 mm, not 1.6 m), 1500 as mm. Inches and cm
    mostly look like plausible mm and cannot be told apart by size: pass them."""
    candidates = ("mm", *GUESSES)
    for low, high in (TYPICAL_MM, PLAUSIBLE_MM):
        for unit in candidates:
            if low <= largest_extent * UNITS_TO_MM[unit] <= high:
                return unit
    return "mm"


def implausible_size(largest_extent_mm: float) -> str | None:
    """A note when a part's size in mm is no printed part's (then its units are likely
    wrong), else None."""
    low, high = PLAUSIBLE_MM
    if largest_extent_mm < low:
        return f"only {largest_extent_mm:.3g} mm across: are the units right? (--units)"
    if largest_extent_mm > high:
        return f"{largest_extent_mm / 1000:.3g} m across: are the units right? (--units)"
    return None


def repair_mesh(mesh: trimesh.Trimesh, name: str | Path = "<mesh>") -> trimesh.Trimesh:
    """Merge duplicate vertices, drop degenerate and duplicate faces and duplicated shells, fix
    winding and normals, close small holes. Gaps left open are fine (the voxelizer decides
    inside and outside by the winding number); a surface whose openings are a large share of
    it is no solid and raises MeshError, as does one without volume. What was done is listed
    in metadata["repaired"] (empty for a clean mesh)."""
    mesh = mesh.copy()
    if not np.isfinite(mesh.vertices).all():
        raise MeshError(name, "vertex coordinates contain NaN or inf")
    repaired: list[str] = []
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    n_faces = len(mesh.faces)
    mesh.update_faces(mesh.unique_faces())
    _note(repaired, n_faces - len(mesh.faces), "duplicate face")
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) < 4:
        raise MeshError(name, f"only {len(mesh.faces)} valid triangles")
    _note(repaired, drop_duplicate_bodies(mesh), "duplicated shell")
    trimesh.repair.fix_winding(mesh)
    uses = _edge_use_counts(mesh)
    open_edges = int((uses == 1).sum())  # the rim of every hole in the surface
    if open_edges:
        trimesh.repair.fill_holes(mesh)
        uses = _edge_use_counts(mesh)
        still_open = int((uses == 1).sum())
        _note(repaired, open_edges - still_open, "boundary edge", "closed")
        if still_open:
            share = opening_share(mesh)
            if share > MAX_OPENING_SHARE:
                raise MeshError(
                    name, f"not a solid: an open surface (openings {share:.0%} of its area, "
                    f"{still_open} boundary edges)",
                )  # fmt: skip
            _note(repaired, still_open, "boundary edge", "left open (inside by winding number)")
    shared = int((uses > 2).sum())  # edges of three or more faces
    _note(repaired, shared, "non-manifold edge", "kept (inside by winding number)")
    volume = orient_bodies(mesh)
    if not abs(volume) > 1e-9 * max(float(mesh.extents.max()), 1e-12) ** 3:
        raise MeshError(name, "no volume (flat or degenerate mesh)")
    mesh.metadata["repaired"] = repaired
    return mesh


def _note(repaired: list[str], count: int, what: str, done: str = "removed") -> None:
    """Add "N what(s) done" to the repair list when count > 0."""
    if count > 0:
        repaired.append(f"{count} {what}{'s' if count > 1 else ''} {done}")


def opening_share(mesh: trimesh.Trimesh) -> float:
    """The area of the mesh's openings (each loop of boundary edges, spanned by its vector
    area) over the mesh's own area: about 0 for a few missing triangles, 1 for a flat sheet,
    0.5 for a hemispherical bowl."""
    faces = np.asarray(mesh.faces)
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(_edge_keys(undirected), return_inverse=True, return_counts=True)
    rim = directed[counts[inverse] == 1]
    if len(rim) == 0:
        return 0.0
    n = len(mesh.vertices)
    graph = sparse.coo_matrix((np.ones(len(rim)), (rim[:, 0], rim[:, 1])), shape=(n, n))
    _, loop_of_vertex = csgraph.connected_components(graph, directed=False)
    vertices = np.asarray(mesh.vertices, float)
    cross = np.cross(vertices[rim[:, 0]], vertices[rim[:, 1]]) / 2
    loop = loop_of_vertex[rim[:, 0]]
    areas = np.stack([np.bincount(loop, weights=cross[:, i]) for i in range(3)], axis=1)
    return float(np.linalg.norm(areas, axis=1).sum() / max(float(mesh.area), 1e-300))


def drop_duplicate_bodies(mesh: trimesh.Trimesh) -> int:
    """Remove, in place, every body (edge-connected shell) that repeats an earlier one: the
    same number of faces and the same bounds to 1e-4 of the part's size (an exported
    assembly's copies of one shell, with vertices off by rounding). Returns how many."""
    faces = np.asarray(mesh.faces)
    body = _edge_connected_bodies(faces)
    n_bodies = int(body.max()) + 1
    if n_bodies == 1:
        return 0
    low, high = _body_bounds(np.asarray(mesh.vertices, float)[faces], body, n_bodies)
    tolerance = 1e-4 * max(float(mesh.extents.max()), 1e-12)
    keys = np.concatenate(
        [np.bincount(body)[:, None], np.round(np.hstack([low, high]) / tolerance)], axis=1
    )
    _, first = np.unique(keys, axis=0, return_index=True)
    duplicate = np.ones(n_bodies, bool)
    duplicate[first] = False
    if duplicate.any():
        mesh.update_faces(~duplicate[body])
        mesh.remove_unreferenced_vertices()
    return int(duplicate.sum())


def orient_bodies(mesh: trimesh.Trimesh) -> float:
    """Orient every closed body (faces joined through shared edges) in place so that its
    normals point out of the material: a body enclosed by an odd number of others is a cavity's
    wall and faces inward (negative volume), any other body outward. Returns the solid's
    volume (cavities subtracted), so that mass properties and the principal axes are right.
    Ours rather than trimesh's fix_inversion(multibody=True), which turns cavities outward and
    builds a mesh and two mass-property passes per body."""
    faces = np.asarray(mesh.faces)
    triangles = np.asarray(mesh.vertices, float)[faces]
    signed = np.einsum("ij,ij->i", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2]))
    body = _edge_connected_bodies(faces)
    volumes = np.bincount(body, weights=signed) / 6.0
    wanted = np.where(_nesting_depths(triangles, body) % 2 == 1, -1.0, 1.0)
    flip = np.sign(volumes) != wanted
    if flip.any():
        mesh.faces = np.where(flip[body][:, None], faces[:, ::-1], faces)
    return float((wanted * np.abs(volumes)).sum())


def _nesting_depths(triangles: np.ndarray, body: np.ndarray) -> np.ndarray:
    """How many other bodies enclose each body: those whose bounds hold its bounds and that
    hold all six of its extreme vertices (the parity of a +z ray's crossings of that body).
    A body with a vertex outside another merely overlaps it (a union, not a cavity). All
    zeros for one body, or for more than MAX_NESTED_BODIES (a cost of bodies x triangles),
    which are then taken as side by side. The +z rays are jittered off round coordinates, so
    they miss the edges and corners where two triangles would both count."""
    n_bodies = int(body.max()) + 1
    depths = np.zeros(n_bodies, int)
    if n_bodies == 1 or n_bodies > MAX_NESTED_BODIES:
        return depths
    low, high = _body_bounds(triangles, body, n_bodies)
    jitter = _RAY_JITTER * np.ptp(triangles.reshape(-1, 3), axis=0)
    lo, hi = triangles[:, :, :2].min(axis=1), triangles[:, :, :2].max(axis=1)
    for b in range(n_bodies):
        holders = np.flatnonzero((low <= low[b]).all(1) & (high >= high[b]).all(1))
        holders = holders[holders != b]
        if len(holders) == 0:
            continue
        points = triangles[body == b].reshape(-1, 3)
        extremes = np.concatenate([points.argmin(axis=0), points.argmax(axis=0)])
        inside = np.ones(n_bodies, bool)
        of_holders = np.isin(body, holders)
        for probe in points[extremes] + jitter:
            near = np.flatnonzero(of_holders & (lo <= probe[:2]).all(1) & (hi >= probe[:2]).all(1))
            hits = near[crossed(probe, UP, triangles[near])]
            inside &= np.bincount(body[hits], minlength=n_bodies) % 2 == 1
        depths[b] = int(inside[holders].sum())
    return depths


def _body_bounds(
    triangles: np.ndarray, body: np.ndarray, n_bodies: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each body's lowest and highest corner, (n_bodies, 3) each."""
    order = np.argsort(body, kind="stable")
    starts = np.searchsorted(body[order], np.arange(n_bodies))
    points = triangles[order]
    low = np.minimum.reduceat(points.min(axis=1), starts, axis=0)
    high = np.maximum.reduceat(points.max(axis=1), starts, axis=0)
    return low, high


def _edge_connected_bodies(faces: np.ndarray) -> np.ndarray:
    """A body label per face: faces sharing an edge are in one body (bodies that only touch
    at a vertex stay apart). A graph of faces and edges, split into connected components.
    Not trimesh.graph.connected_component_labels(face_adjacency): face_adjacency pairs faces
    only across edges of exactly two faces, so bodies sharing an edge would fall apart; and,
    face_adjacency included, it is no faster."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    key = edges[:, 0].astype(np.int64) * (int(faces.max()) + 1) + edges[:, 1]  # one int per edge
    _, edge_id = np.unique(key, return_inverse=True)
    n_faces, n_edges = len(faces), int(edge_id.max()) + 1
    face_id = np.tile(np.arange(n_faces), 3)
    graph = sparse.coo_matrix(
        (np.ones(len(face_id)), (face_id, n_faces + edge_id.ravel())),
        shape=(n_faces + n_edges, n_faces + n_edges),
    )
    _, labels = csgraph.connected_components(graph, directed=False)
    return labels[:n_faces]


def load_and_repair(path: str | Path, units: str = "auto") -> trimesh.Trimesh:
    """load_mesh then repair_mesh, the usual way in; any failure is a MeshError."""
    mesh = load_mesh(path, units)
    try:
        return repair_mesh(mesh, path)
    except MeshError:
        raise
    except Exception as exc:  # trimesh can trip over meshes that parsed but make no sense
        raise MeshError(path, f"cannot repair ({type(exc).__name__}: {_first_line(exc)})") from None


def _scale_to_mm(
    mesh: trimesh.Trimesh, units: str, used_vertices: np.ndarray
) -> tuple[float, str, str | None]:
    """(factor to mm, the unit taken, the unit guessed or None): the file's own units where it
    states them, else `units`, else (auto) `guess_units` of the used vertices' extent."""
    file_units = getattr(mesh, "units", None)
    if file_units:
        try:
            return float(trimesh.units.unit_conversion(file_units, "millimeters")), file_units, None
        except Exception:
            pass
    if units != "auto":
        return UNITS_TO_MM[units], units, None
    guessed = guess_units(float(np.ptp(used_vertices, axis=0).max()))
    return UNITS_TO_MM[guessed], guessed, None if guessed == "mm" else guessed


def _edge_use_counts(mesh: trimesh.Trimesh) -> np.ndarray:
    """How many faces use each distinct edge: 2 on a closed manifold surface."""
    edges = mesh.edges_sorted
    if len(edges) == 0:
        return np.zeros(0, int)
    return np.unique(_edge_keys(edges), return_counts=True)[1]


def _edge_keys(sorted_edges: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) edge row with a <= b, in the rows' lexicographic order: a 1-D
    np.unique on these is far faster than np.unique(axis=0) on the rows."""
    return sorted_edges[:, 0].astype(np.int64) * (int(sorted_edges.max()) + 1) + sorted_edges[:, 1]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else "unknown error"
