"""Pictures of samples and meshes for checking the data by eye (matplotlib, no display needed).

Figures are built as `matplotlib.figure.Figure` objects and saved through the Agg canvas, not
through pyplot: nothing is registered globally, so no figure can leak and the importing process
keeps whatever backend it had.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from mpl_toolkits.mplot3d import Axes3D
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from printability.config import Preset
from printability.data.defects import measured_thin_wall
from printability.geometry.measure import Hole

AXIS_NAMES = ("x", "y", "z")
HOLE_COLOR = "red"
THIN_COLOR = "darkorange"
SLICE_CMAP = ListedColormap(["white", "0.6", THIN_COLOR])  # empty, solid, thin wall
MESH_COLOR = np.array([0.35, 0.55, 0.85])
LIGHT_DIR = np.array([0.3, -0.6, 0.75])  # the three faces seen by default get distinct tones
VOXEL_CMAP = colormaps["viridis"]
MAX_FACES_3D = 40_000  # more faces than this and the 3-D panel gets slow: pool harder
PERPENDICULAR_TOL = 0.05  # in-plane share of the axis below which it counts as perpendicular
DPI = 100


# --- record fields -----------------------------------------------------------------------------


def _num(record: dict, key: str) -> float:
    """A float field of a manifest row; NaN when missing, empty or not a number (CSV-safe)."""
    value = record.get(key)
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _vector(record: dict, prefix: str) -> np.ndarray | None:
    """The x/y/z triple `prefix_x..z` of a row, or None when any part is missing."""
    v = np.array([_num(record, f"{prefix}_{a}") for a in AXIS_NAMES])
    return v if np.all(np.isfinite(v)) else None


def _hole_axis(record: dict) -> np.ndarray | None:
    """The unit hole axis of a row, or None when absent or degenerate."""
    v = _vector(record, "hole_axis")
    if v is None or np.linalg.norm(v) < 1e-9:
        return None
    return v / np.linalg.norm(v)


def _label_word(record: dict) -> str:
    """'printable' / 'NOT printable' from the row's label, '?' when it has none."""
    label = _num(record, "label")
    if math.isnan(label):
        return "label ?"
    return "printable" if label >= 0.5 else "NOT printable"


def _length_text(name: str, vox: float, pitch: float) -> str:
    """'name 3.2 vox (1.60 mm)', or 'name -' when the length is unknown."""
    if math.isnan(vox):
        return f"{name} -"
    mm = f" ({vox * pitch:.2f} mm)" if math.isfinite(pitch) else ""
    return f"{name} {vox:.2f} vox{mm}"


def _sample_title(record: dict) -> str:
    """Two-line title: identity and class, then the hole and wall sizes."""
    pitch = _num(record, "pitch_mm")
    head = (
        f"{record.get('sample_id', '?')}  |  {record.get('defect', '?')}  |  {_label_word(record)}"
    )
    sizes = [
        _length_text("hole radius", _num(record, "hole_radius_vox"), pitch),
        _length_text("wall", _num(record, "wall_vox"), pitch),
        f"pitch {pitch:.3g} mm" if math.isfinite(pitch) else "pitch ?",
    ]
    return head + "\n" + ",  ".join(sizes)


# --- geometry helpers --------------------------------------------------------------------------


def _as_grid(voxels: np.ndarray) -> np.ndarray:
    """The voxels as a 3-D bool array; a clear error for anything else."""
    grid = np.asarray(voxels).astype(bool, copy=False)
    if grid.ndim != 3:
        raise ValueError(f"voxels must be a 3-D array, got shape {grid.shape}")
    return grid


def _center(grid: np.ndarray, record: dict) -> tuple[np.ndarray, bool]:
    """The hole centre in voxel coordinates (or the grid centre) and whether a hole was given."""
    c = _vector(record, "hole_center")
    if c is None:
        return np.array(grid.shape, dtype=float) / 2, False
    return c, True


def _preset(thresholds: Preset | dict | None) -> Preset | None:
    """The thresholds as a Preset (a dataset's info stores them as a dict), or None."""
    if thresholds is None or isinstance(thresholds, Preset):
        return thresholds
    return Preset(**thresholds)


def thin_wall_mask(
    voxels: np.ndarray, record: dict, thresholds: Preset | dict | None
) -> np.ndarray | None:
    """The sample's thin wall (bool, the grid's shape): the material crossed by the rays of
    `measure_wall` whose wall is at most b_np, as the generator measured it. None without
    thresholds, or when the sample has no hole whose wall is thin (a thin_wall, or wall <= b_np)
    or its defect is a small hole (then the hole is what the picture must show)."""
    th, grid = _preset(thresholds), _as_grid(voxels)
    center, axis = _vector(record, "hole_center"), _hole_axis(record)
    radius, wall = _num(record, "hole_radius_vox"), _num(record, "wall_vox")
    if th is None or center is None or axis is None or not radius > 0:
        return None
    defect = record.get("defect")
    if defect == "small_hole" or (defect != "thin_wall" and not wall <= th.b_np):
        return None
    return measured_thin_wall(grid, Hole(center, axis, radius), th)


def _thin_anchor(thin: np.ndarray) -> np.ndarray:
    """The thin-wall voxel nearest the thin voxels' centroid: slices through it cut the wall."""
    cells = np.argwhere(thin)
    nearest = np.argmin(np.linalg.norm(cells - cells.mean(axis=0), axis=1))
    return cells[nearest].astype(float) + 0.5


def _slice_indices(grid: np.ndarray, center: np.ndarray) -> list[int]:
    """The voxel index along each axis whose slab holds the centre, clipped into the grid."""
    return [int(np.clip(math.floor(c), 0, n - 1)) for c, n in zip(center, grid.shape, strict=True)]


def _clip_line(point: np.ndarray, direction: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """The segment of the line point + t*direction inside the box [0, upper], or None if outside."""
    t0, t1 = -math.inf, math.inf
    for p, d, hi in zip(point, direction, upper, strict=True):
        if abs(d) < 1e-12:
            if not 0 <= p <= hi:
                return None
            continue
        a, b = sorted(((0 - p) / d, (hi - p) / d))
        t0, t1 = max(t0, a), min(t1, b)
    if t0 > t1:
        return None
    return np.stack([point + t0 * direction, point + t1 * direction])


def _pool_any(grid: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Downsample by the smallest integer factor that fits max_side; a cell is solid if any is."""
    factor = max(1, math.ceil(max(grid.shape) / max(1, max_side)))
    return _pool_by(grid, factor), factor


def _pool_by(grid: np.ndarray, factor: int) -> np.ndarray:
    """Downsample by `factor` along every axis (zero-padded to a multiple); any voxel counts."""
    if factor == 1:
        return grid
    padded_shape = [math.ceil(n / factor) * factor for n in grid.shape]
    padded = np.zeros(padded_shape, dtype=bool)
    padded[: grid.shape[0], : grid.shape[1], : grid.shape[2]] = grid
    a, b, c = (n // factor for n in padded_shape)
    return padded.reshape(a, factor, b, factor, c, factor).any(axis=(1, 3, 5))


# --- panels ------------------------------------------------------------------------------------


def _draw_slice(
    ax: Axes,
    grid: np.ndarray,
    normal: int,
    index: int,
    center: np.ndarray,
    axis: np.ndarray | None,
    radius: float,
    thin: np.ndarray | None = None,
) -> None:
    """One axial slice (solid grey, empty white, thin wall orange) with the hole axis
    projected onto it in red."""
    u, v = (a for a in range(3) if a != normal)
    plane = np.take(grid, index, axis=normal).astype(np.uint8)  # axes (u, v) in order
    if thin is not None:
        plane += np.take(thin & grid, index, axis=normal)
    extent = (0, grid.shape[u], 0, grid.shape[v])
    ax.imshow(
        plane.T, cmap=SLICE_CMAP, vmin=0, vmax=2, origin="lower", extent=extent,
        interpolation="nearest",
    )  # fmt: skip
    ax.set_title(f"{AXIS_NAMES[normal]} = {index}  ({AXIS_NAMES[u]}-{AXIS_NAMES[v]} plane)")
    ax.set_xlabel(AXIS_NAMES[u])
    ax.set_ylabel(AXIS_NAMES[v])
    if axis is not None:
        _draw_projected_axis(ax, center[[u, v]], axis[[u, v]], radius, extent)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")


def _draw_projected_axis(
    ax: Axes, center: np.ndarray, direction: np.ndarray, radius: float, extent: tuple
) -> None:
    """The hole axis in a slice: a line through the centre, or a circle when seen end-on."""
    if np.linalg.norm(direction) < PERPENDICULAR_TOL:
        r = radius if math.isfinite(radius) and radius > 0 else 1.0
        ax.add_patch(Circle(tuple(center), r, fill=False, color=HOLE_COLOR, lw=1))
        return
    ax.plot(*center, marker="+", color=HOLE_COLOR, markersize=8, mew=1)
    seg = _clip_line(center, direction, np.array([extent[1], extent[3]], dtype=float))
    if seg is not None:
        ax.plot(seg[:, 0], seg[:, 1], color=HOLE_COLOR, lw=1.5)


def _face_quads(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every voxel face between solid and empty, as quads (F, 4, 3), unit normals (F, 3) and
    the voxel each face belongs to (F, 3).

    Built with numpy only: one Poly3DCollection of exposed faces draws far faster than
    `Axes3D.voxels`, which builds one collection per voxel.
    """
    p = np.pad(grid, 1)
    quads, normals, cells = [], [], []
    for k in range(3):
        u, v = (a for a in range(3) if a != k)
        square = np.zeros((4, 3))
        square[[1, 2], u] = 1
        square[[2, 3], v] = 1
        for sign in (-1, 1):
            shift = [slice(1, -1)] * 3
            shift[k] = slice(2, None) if sign > 0 else slice(None, -2)
            idx = np.argwhere(grid & ~p[tuple(shift)])
            cells.append(idx)
            corners = square.copy()
            corners[:, k] = 1 if sign > 0 else 0
            quads.append(idx[:, None, :] + corners[None, :, :])
            normal = np.zeros(3)
            normal[k] = sign
            normals.append(np.repeat(normal[None, :], len(idx), axis=0))
    return np.concatenate(quads), np.concatenate(normals), np.concatenate(cells)


def _shade(normals: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Lambert shading: RGB base colours (F, 3) scaled by ambient plus diffuse light."""
    light = LIGHT_DIR / np.linalg.norm(LIGHT_DIR)
    diffuse = np.clip(normals @ light, 0, 1)
    return np.clip((0.35 + 0.65 * diffuse)[:, None] * base, 0, 1)


def _pooled_faces(
    grid: np.ndarray, max_side: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Exposed faces of the any-pooled grid, pooling harder until there are few enough to draw:
    quads, normals, the pooled cell of each face, and the pooling factor."""
    side = max_side
    while True:
        pooled, factor = _pool_any(grid, side)
        quads, normals, cells = _face_quads(pooled)
        if len(quads) <= MAX_FACES_3D or side <= 8:
            return quads * factor, normals, cells, factor
        side = max(8, int(side * 0.75))


def _draw_voxels_3d(
    ax: Axes3D,
    grid: np.ndarray,
    axis: np.ndarray | None,
    center: np.ndarray,
    max_side: int,
    thin: np.ndarray | None = None,
) -> int:
    """Exposed voxel faces, coloured by height and Lambert-shaded, the faces of `thin` voxels
    orange, plus the hole axis in red.

    Returns the pooling factor used, so the caller can say the view is coarser than the grid.
    """
    quads, normals, cells, factor = _pooled_faces(grid, max_side)
    if len(quads):
        height = quads[:, :, 2].mean(axis=1) / max(grid.shape[2], 1)
        base = np.asarray(VOXEL_CMAP(0.15 + 0.8 * height))[:, :3]
        if thin is not None and thin.any():
            base[_pool_by(thin, factor)[tuple(cells.T)]] = to_rgb(THIN_COLOR)
        colors = _shade(normals, base)  # edges in the face colour hide seams between quads
        ax.add_collection3d(
            Poly3DCollection(quads, facecolors=colors, edgecolors=colors, linewidths=0.3)
        )
    if axis is not None:
        seg = _clip_line(center, axis, np.array(grid.shape, dtype=float))
        if seg is not None:
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=HOLE_COLOR, lw=1.5, alpha=0.9)
    if thin is not None and thin.any():  # dots drawn over the faces: seen even where hidden
        ax.view_init(*_facing(grid, thin))
        dots = np.argwhere(thin) + 0.5
        ax.scatter(*dots.T, color=THIN_COLOR, s=6, depthshade=False, edgecolors="none")
    _frame_3d(ax, grid.shape)
    return factor


def _facing(grid: np.ndarray, thin: np.ndarray) -> tuple[float, float]:
    """(elevation, azimuth) in degrees of a camera on the thin wall's side of the part, a little
    from above when the wall faces sideways, so the wall's outer face is in view."""
    d = np.argwhere(thin).mean(axis=0) - np.argwhere(grid).mean(axis=0)
    if np.linalg.norm(d) < 1e-9:
        return 30.0, -60.0  # matplotlib's default view
    d /= np.linalg.norm(d)
    elev = math.degrees(math.asin(float(np.clip(d[2], -1, 1))))
    elev = float(np.clip(elev if abs(elev) >= 25 else 25.0, -60, 60))
    return elev, math.degrees(math.atan2(d[1], d[0])) + 30  # oblique: the part still reads 3-D


def _frame_3d(ax: Axes3D, shape: tuple[int, ...]) -> None:
    """Equal-aspect 3-D axes spanning the grid, with light ticks."""
    ax.computed_zorder = False  # keep the hole axis drawn over the voxels
    ax.set_xlim(0, shape[0])
    ax.set_ylim(0, shape[1])
    ax.set_zlim(0, shape[2])
    ax.set_box_aspect(tuple(shape))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    ax.tick_params(labelsize=7)


def save_figure(fig: Figure, out_png: str | Path) -> Path:
    """Write the figure as PNG, creating parent folders, and release it."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    try:
        fig.savefig(out, format="png", dpi=DPI)
    finally:
        fig.clear()
    return out


# --- public API --------------------------------------------------------------------------------


def render_sample(
    voxels: np.ndarray,
    record: dict,
    out_png: str | Path,
    *,
    max_voxels_3d: int = 96,
    note: str = "",
    figsize: tuple[float, float] = (18, 5),
    thresholds: Preset | dict | None = None,
    thin_wall: np.ndarray | None = None,
) -> Path:
    """One PNG: three orthogonal slices through the defect and a 3-D view (`sample_figure`)."""
    fig = sample_figure(
        voxels, record, max_voxels_3d=max_voxels_3d, note=note, figsize=figsize,
        thresholds=thresholds, thin_wall=thin_wall,
    )  # fmt: skip
    return save_figure(fig, out_png)


def sample_figure(
    voxels: np.ndarray,
    record: dict,
    *,
    max_voxels_3d: int = 96,
    note: str = "",
    figsize: tuple[float, float] = (18, 5),
    thresholds: Preset | dict | None = None,
    thin_wall: np.ndarray | None = None,
) -> Figure:
    """Three orthogonal slices and a 3-D view of a sample, through its thin wall (orange) when
    it has one, else through the hole centre (or the grid centre when it has no hole).

    The hole axis is drawn in red in every panel so the defect can be found at a glance. The
    thin wall is `thin_wall` (e.g. a dataset's stored defect mask), else measured with
    `thresholds` (`thin_wall_mask`), else not shown. `note` is a last title line (e.g. a model's
    verdict in a failure gallery).
    """
    grid = _as_grid(voxels)
    center, has_hole = _center(grid, record)
    axis = _hole_axis(record) if has_hole else None
    radius = _num(record, "hole_radius_vox")
    if thin_wall is not None and np.any(thin_wall):
        thin = _as_grid(thin_wall) & grid
    else:
        thin = thin_wall_mask(grid, record, thresholds) if has_hole else None
    thin = thin if thin is not None and thin.any() else None
    lines = [_sample_title(record), _where_line(record, has_hole, thin), note]
    fig = Figure(figsize=figsize)
    title = fig.suptitle("\n".join(line for line in lines if line), fontsize=12)
    spec = fig.add_gridspec(
        1, 4, width_ratios=(1, 1, 1, 1.5), left=0.04, right=0.99, bottom=0.1,
        top=_top_below(fig, title), wspace=0.25,
    )  # fmt: skip
    indices = _slice_indices(grid, _thin_anchor(thin) if thin is not None else center)
    for normal in range(3):
        ax = fig.add_subplot(spec[0, normal])
        _draw_slice(ax, grid, normal, indices[normal], center, axis, radius, thin)
    ax3 = fig.add_subplot(spec[0, 3], projection="3d")
    factor = _draw_voxels_3d(ax3, grid, axis, center, max(1, max_voxels_3d // 2), thin)
    pooled = f", shown pooled x{factor}" if factor > 1 else ""
    ax3.set_title("voxels {}x{}x{}".format(*grid.shape) + pooled)
    return fig


def _where_line(record: dict, has_hole: bool, thin: np.ndarray | None) -> str:
    """The title line saying where the slices go and what orange marks; '' for the hole centre."""
    if thin is not None:
        wall = _length_text("", _num(record, "wall_vox"), _num(record, "pitch_mm")).strip()
        return f"thin wall {wall} in orange: slices through it, 3-D view from its side"
    return "" if has_hole else "no hole centre: slices through the grid centre"


def _top_below(fig: Figure, title: Any) -> float:
    """The axes' top, as a figure fraction, that leaves room under the (multi-line) suptitle
    for the panels' own titles: measured on the rendered text, so no line count can overlap."""
    FigureCanvasAgg(fig)
    box = title.get_window_extent(fig.canvas.get_renderer())
    panel_title_px = 2.4 * 12 * fig.dpi / 72  # a 12 pt axes title and its padding
    return max(0.3, (box.y0 - panel_title_px) / (fig.get_figheight() * fig.dpi))


def _lambert_colors(mesh: trimesh.Trimesh) -> np.ndarray:
    """RGB per face: base colour scaled by ambient + diffuse light from the face normal."""
    normals = np.asarray(mesh.face_normals)
    return _shade(normals, np.repeat(MESH_COLOR[None, :], len(normals), axis=0))


def _draw_mesh_3d(ax: Axes3D, mesh: trimesh.Trimesh) -> None:
    """Shaded triangles of the mesh in equal-aspect 3-D axes."""
    tris = np.asarray(mesh.triangles)
    ax.add_collection3d(Poly3DCollection(tris, facecolors=_lambert_colors(mesh), edgecolors="none"))
    lo, hi = mesh.bounds
    mid, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 1e-9)
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[1] - half, mid[1] + half)
    ax.set_zlim(mid[2] - half, mid[2] + half)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=25, azim=-60)
    ax.set_xlabel("x mm")
    ax.set_ylabel("y mm")
    ax.set_zlabel("z mm")
    ax.tick_params(labelsize=7)


def _draw_silhouette(ax: Axes, mesh: trimesh.Trimesh, u: int, v: int) -> None:
    """The mesh projected onto the (u, v) plane as filled triangles, with its extent box."""
    tris = np.asarray(mesh.triangles)[:, :, [u, v]]
    ax.add_collection(  # edges in the fill colour hide seams between triangles
        PolyCollection(tris, facecolors=MESH_COLOR, edgecolors=MESH_COLOR, linewidths=0.3)
    )
    lo, hi = mesh.bounds[0][[u, v]], mesh.bounds[1][[u, v]]
    size = hi - lo
    ax.add_patch(Rectangle(tuple(lo), *size, fill=False, ls="--", color="0.3", lw=1))
    pad = 0.05 * max(float(size.max()), 1e-9)
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{AXIS_NAMES[u]} mm")
    ax.set_ylabel(f"{AXIS_NAMES[v]} mm")
    ax.set_title(f"{AXIS_NAMES[u]}-{AXIS_NAMES[v]}: {size[0]:.1f} x {size[1]:.1f} mm", fontsize=10)


def render_mesh(mesh: trimesh.Trimesh, out_png: str | Path, *, title: str = "") -> Path:
    """One PNG of a mesh: a Lambert-shaded 3-D view and its three axis-aligned silhouettes.

    Sizes are read from the mesh bounds, in the mesh's units (taken to be mm).
    """
    size = mesh.extents if len(mesh.faces) else np.zeros(3)
    size_text = f"size {size[0]:.1f} x {size[1]:.1f} x {size[2]:.1f} mm, {len(mesh.faces)} faces"
    fig = Figure(figsize=(18, 5))
    spec = fig.add_gridspec(
        1, 4, width_ratios=(1.5, 1, 1, 1), left=0.01, right=0.98, bottom=0.1, top=0.82, wspace=0.3
    )
    ax3 = fig.add_subplot(spec[0, 0], projection="3d")
    if len(mesh.faces):
        _draw_mesh_3d(ax3, mesh)
        for k, (u, v) in enumerate(((0, 1), (0, 2), (1, 2))):
            _draw_silhouette(fig.add_subplot(spec[0, k + 1]), mesh, u, v)
    fig.suptitle(f"{title}\n{size_text}" if title else size_text, fontsize=12)
    return save_figure(fig, out_png)


def _caption(record: dict, field: str = "defect") -> str:
    """Short contact-sheet caption: the defect class (or another field) and the label word."""
    return f"{record.get(field, '?')}\n{_label_word(record)}"


def render_grid(
    samples: list[tuple[np.ndarray, dict[str, Any]]],
    out_png: str | Path,
    *,
    columns: int = 4,
    caption: str = "defect",
) -> Path:
    """A contact sheet: one small 3-D view per sample, captioned with its defect class (or
    the manifest field `caption`, such as part_kind)."""
    columns = max(1, min(columns, len(samples) or 1))
    rows = max(1, math.ceil(len(samples) / columns))
    fig = Figure(figsize=(3.2 * columns, 3.4 * rows))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93, wspace=0.05, hspace=0.15)
    for k, (voxels, record) in enumerate(samples):
        grid = _as_grid(voxels)
        center, has_hole = _center(grid, record)
        axis = _hole_axis(record) if has_hole else None
        ax = fig.add_subplot(rows, columns, k + 1, projection="3d")
        _draw_voxels_3d(ax, grid, axis, center, max_side=32)
        ax.set_title(_caption(record, caption), fontsize=10)
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])
        for setter in (ax.set_xlabel, ax.set_ylabel, ax.set_zlabel):
            setter("")
    return save_figure(fig, out_png)
