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

from printability.config import UNITS_TO_MM
from printability.errors import MeshError

MESH_SUFFIXES: tuple[str, ...] = (".stl", ".obj", ".ply", ".off", ".3mf", ".glb", ".gltf")
MAX_NESTED_BODIES = 256  # bodies tested for nesting (cavities); beyond, all face outward
_RAY_JITTER = np.array([1.3e-7, 1.1e-7, 0.0])  # off round coordinates, relative to the extent

# trimesh logs parse trouble at warning level; our own one-line errors say it better.
logging.getLogger("trimesh").setLevel(logging.ERROR)


def find_meshes(folder: str | Path) -> list[Path]:
    """All mesh files under `folder` (recursive), sorted so the order is reproducible."""
    root = Path(folder)
    if not root.is_dir():
        raise MeshError(root, "not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


def load_mesh(path: str | Path, units: str = "mm") -> trimesh.Trimesh:
    """Read one mesh file as a single triangle mesh in mm; a scene's parts are concatenated.

    `units` is what the file's numbers mean when the format does not say (3MF does).
    """
    path = Path(path)
    if units not in UNITS_TO_MM:
        raise MeshError(path, f"unknown units {units!r}")
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
    scale = _file_scale_to_mm(loaded, units)
    return trimesh.Trimesh(vertices * scale, faces, process=False)


def repair_mesh(mesh: trimesh.Trimesh, name: str | Path = "<mesh>") -> trimesh.Trimesh:
    """Merge duplicate vertices, drop degenerate and duplicate faces, fix winding and normals,
    fill small holes; raise MeshError if the result is still open or has no volume."""
    mesh = mesh.copy()
    if not np.isfinite(mesh.vertices).all():
        raise MeshError(name, "vertex coordinates contain NaN or inf")
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) < 4:
        raise MeshError(name, f"only {len(mesh.faces)} valid triangles")
    trimesh.repair.fix_winding(mesh)
    if not mesh.is_watertight:
        trimesh.repair.fill_holes(mesh)
    if not mesh.is_watertight:
        open_edges = _boundary_edge_count(mesh)
        raise MeshError(name, f"open mesh ({open_edges} boundary edges after repair)")
    if not mesh.is_winding_consistent:
        raise MeshError(name, "inconsistent face winding (non-manifold edges)")
    volume = orient_bodies(mesh)
    if not volume > 1e-9 * max(float(mesh.extents.max()), 1e-12) ** 3:
        raise MeshError(name, "no volume (flat or degenerate mesh)")
    return mesh


def orient_bodies(mesh: trimesh.Trimesh) -> float:
    """Orient every closed body (faces joined through shared edges) in place so that its
    normals point out of the material: a body enclosed by an odd number of others is a cavity's
    wall and faces inward (negative volume), any other body outward. Returns the solid's
    volume (cavities subtracted), so that mass properties and the principal axes are right.
    Ours rather than trimesh's fix_inversion(multibody=True), which turned cavities outward and
    took 0.4-0.6 s on a 100,000-triangle part (two mass-property passes, per-body meshes)."""
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
    """How many other bodies enclose each body: the parity of a +z ray's crossings of each
    other body, from one of the body's vertices. All zeros for one body, or for more than
    MAX_NESTED_BODIES (a cost of bodies x triangles), which are then taken as side by side."""
    n_bodies = int(body.max()) + 1
    depths = np.zeros(n_bodies, int)
    if n_bodies == 1 or n_bodies > MAX_NESTED_BODIES:
        return depths
    first_face = np.unique(body, return_index=True)[1]
    probes = triangles[first_face, 0] + _RAY_JITTER * np.ptp(triangles.reshape(-1, 3), axis=0)
    lo, hi = triangles[:, :, :2].min(axis=1), triangles[:, :, :2].max(axis=1)
    for b, probe in enumerate(probes):
        near = np.flatnonzero((lo <= probe[:2]).all(1) & (hi >= probe[:2]).all(1) & (body != b))
        hits = near[_ray_crosses(triangles[near], probe)]
        depths[b] = int((np.bincount(body[hits], minlength=n_bodies) % 2).sum())
    return depths


def _ray_crosses(triangles: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Which triangles the ray from `point` along +z crosses (xy inside, above the point)."""
    a, b, c = (triangles[:, i] - point for i in range(3))
    wa = b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0]
    wb = c[:, 0] * a[:, 1] - c[:, 1] * a[:, 0]
    wc = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    area = wa + wb + wc
    inside = ((wa >= 0) & (wb >= 0) & (wc >= 0)) | ((wa <= 0) & (wb <= 0) & (wc <= 0))
    inside &= np.abs(area) > 1e-18
    z = (wa * a[:, 2] + wb * b[:, 2] + wc * c[:, 2]) / np.where(inside, area, 1.0)
    return inside & (z > 0)


def _edge_connected_bodies(faces: np.ndarray) -> np.ndarray:
    """A body label per face: faces sharing an edge are in one body (bodies that only touch
    at a vertex stay apart). A graph of faces and edges, split into connected components."""
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


def load_and_repair(path: str | Path, units: str = "mm") -> trimesh.Trimesh:
    """load_mesh then repair_mesh, the usual way in; any failure is a MeshError."""
    mesh = load_mesh(path, units)
    try:
        return repair_mesh(mesh, path)
    except MeshError:
        raise
    except Exception as exc:  # trimesh can trip over meshes that parsed but make no sense
        raise MeshError(path, f"cannot repair ({type(exc).__name__}: {_first_line(exc)})") from None


def _file_scale_to_mm(mesh: trimesh.Trimesh, units: str) -> float:
    """The factor to mm: the file's own units where it states them, else `units`."""
    file_units = getattr(mesh, "units", None)
    if file_units:
        try:
            return float(trimesh.units.unit_conversion(file_units, "millimeters"))
        except Exception:
            pass
    return UNITS_TO_MM[units]


def _boundary_edge_count(mesh: trimesh.Trimesh) -> int:
    """Edges used by exactly one face: the rim of every hole in the surface."""
    edges = mesh.edges_sorted
    if len(edges) == 0:
        return 0
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum())


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else "unknown error"
