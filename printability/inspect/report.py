"""`check --report OUT.html`: one self-contained page with the process and its limits, the verdict
table and, for every part judged not printable, the checks it failed and where the network sees
the problem: three slices through the Grad-CAM peak (the part in grey, the heatmap over it), the
heatmap's projections along each axis, and a 3D view from two sides (the part's surface voxels,
translucent, with the hot voxels over it). For a large part checked in windows, the pictures
show the window the network liked least."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from printability.inspect.check import PartCheck, format_table
from printability.inspect.processes import PROCESSES

AXES = ("x", "y", "z")
HOT = 0.5  # Grad-CAM level from which a voxel is drawn as hot in the 3D view
VIEWS = ((25, 35), (25, 215))  # (elevation, azimuth) in degrees: two opposite sides


def heatmap_figure(solid: np.ndarray, heatmap: np.ndarray, peak_vox: Sequence[float]) -> Figure:
    """Top row: slices through the peak, normal to x, y and z; bottom row: the heatmap's maximum
    along each axis over the part's silhouette. The peak is marked with a cross."""
    fig = Figure(figsize=(13, 8.5))
    centre = [int(np.clip(round(v), 0, n - 1)) for v, n in zip(peak_vox, solid.shape, strict=True)]
    for normal in range(3):
        u, v = [a for a in range(3) if a != normal]
        index = [slice(None)] * 3
        index[normal] = centre[normal]
        for row, (part, heat, title) in enumerate(
            (
                (solid[tuple(index)], heatmap[tuple(index)],
                 f"slice {AXES[normal]} = {centre[normal]} through the peak"),
                (solid.any(axis=normal), heatmap.max(axis=normal),
                 f"heat, maximum along {AXES[normal]}"),
            )
        ):  # fmt: skip
            ax = fig.add_subplot(2, 3, 3 * row + normal + 1)
            ax.imshow(part.T, origin="lower", cmap="Greys", vmin=0, vmax=1.6)
            shown = np.ma.masked_less(heat.T, 0.25)  # only where the evidence is notable
            image = ax.imshow(shown, origin="lower", cmap="inferno", vmin=0, vmax=1, alpha=0.6)
            ax.plot(centre[u], centre[v], "c+", markersize=14, markeredgewidth=2)
            ax.set(title=title, xlabel=f"{AXES[u]} (voxels)", ylabel=f"{AXES[v]} (voxels)")
    fig.colorbar(image, ax=fig.axes, shrink=0.6, label="Grad-CAM (evidence against printing)")
    return fig


def surface_voxels(solid: np.ndarray) -> np.ndarray:
    """Indices (K, 3) of the solid voxels with an empty 6-neighbour (outside the grid counts as
    empty): the part's skin, far fewer points than the whole solid for a 3D scatter."""
    padded = np.pad(solid.astype(bool), 1, constant_values=False)
    inner = padded[1:-1, 1:-1, 1:-1].copy()
    for axis in range(3):
        for step in (-1, 1):
            inner &= np.roll(padded, step, axis=axis)[1:-1, 1:-1, 1:-1]
    return np.argwhere(solid.astype(bool) & ~inner)


def hot_voxels(
    solid: np.ndarray, heatmap: np.ndarray, threshold: float = HOT
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (K, 3) and heat (K,) of the part's voxels, skin or interior, whose Grad-CAM is at
    least `threshold`: where the network's evidence against printing lies on the part."""
    points = np.argwhere(solid.astype(bool) & (heatmap >= threshold))
    return points, heatmap[tuple(points.T)]


def heatmap_3d_figure(
    solid: np.ndarray,
    heatmap: np.ndarray,
    peak_vox: Sequence[float],
    max_points: int = 20_000,
) -> Figure:
    """The part's surface (light grey, translucent) with its hot voxels coloured by heat and the
    peak marked, from two opposite viewpoints; point clouds are thinned to `max_points` each."""
    rng = np.random.default_rng(0)  # the same thinning every time: reproducible pictures
    skin = _thin(surface_voxels(solid), max_points, rng)
    hot, heat = hot_voxels(solid, heatmap)
    keep = _thin(np.arange(len(hot)), max_points, rng)
    hot, heat = hot[keep], heat[keep]
    band = np.digitize(heat, np.linspace(HOT, 1, 6)[1:-1])  # 5 bands, hottest drawn last
    fig = Figure(figsize=(12, 5.5))  # fixed margins: a constrained layout doubles the time
    for k, (elev, azim) in enumerate(VIEWS):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d", computed_zorder=False)  # call order
        ax.scatter(*skin.T, s=4, c="0.55", alpha=0.2, linewidths=0, depthshade=False)
        for b in range(5):  # a 3D scatter is depth-sorted: bands keep the hot core in sight
            image = ax.scatter(*hot[band == b].T, c=heat[band == b], s=14, cmap="inferno",
                               vmin=HOT, vmax=1, alpha=0.5, linewidths=0,
                               depthshade=False)  # fmt: skip
        ax.scatter(*np.asarray(peak_vox, float)[:, None], s=250, c="c", marker="P",
                   edgecolors="k", depthshade=False)  # fmt: skip
        _frame_3d(ax, solid.shape)
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"elevation {elev}\N{DEGREE SIGN}, azimuth {azim}\N{DEGREE SIGN}")
    fig.subplots_adjust(left=0.03, right=0.9, bottom=0.02, top=0.98, wspace=0.1)
    fig.colorbar(image, ax=fig.axes, shrink=0.6,
                 label=f"Grad-CAM \N{GREATER-THAN OR EQUAL TO} {HOT} on the part")  # fmt: skip
    return fig


def _thin(points: np.ndarray, max_points: int, rng: np.random.Generator) -> np.ndarray:
    """At most `max_points` rows of `points`, drawn uniformly without replacement (in order)."""
    if len(points) <= max_points:
        return points
    return points[np.sort(rng.choice(len(points), max_points, replace=False))]


def _frame_3d(ax, shape: Sequence[int]) -> None:
    """Axes spanning the whole grid with true proportions (voxels are cubes), labelled."""
    for axis, n in enumerate(shape):
        getattr(ax, f"set_{AXES[axis]}lim")(-0.5, n - 0.5)
        getattr(ax, f"set_{AXES[axis]}label")(f"{AXES[axis]} (voxels)")
    ax.set_box_aspect(tuple(shape))


def write_check_report(results: Sequence[PartCheck], path: str | Path) -> Path:
    """Write the page: the process line, the table and the parts' sections (part_sections)."""
    path = Path(path)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>printability check</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto}"
        "pre{background:#f6f8fa;padding:1em;overflow-x:auto}img{max-width:100%}</style>"
        f"</head><body><h1>printability check</h1><p>{_e(process_line(results))}</p>"
        f"<pre>{_e(format_table(results))}</pre>"
        + (part_sections(results) or "<p>No part was judged not printable.</p>")
        + "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def part_sections(results: Sequence[PartCheck]) -> str:
    """HTML for each part judged not printable: its failed checks and the Grad-CAM pictures,
    or for a part only the process limits fail (no heatmap) its sizes and places. Printable
    parts get nothing."""
    sections = []
    for r in results:
        if r.printable is False and r.heatmap is None and r.problems:
            sections.append(_rules_only_section(r))
        if r.heatmap is None or r.solid is None or r.peak_vox is None:
            continue
        passed = ["hole and wall sizes within the process's limits"] if r.process_ok else []
        checks = "".join(f"<li>{_e(c)}</li>" for c in failed_checks(r))
        checks += "".join(f"<li>passed: {_e(c)}</li>" for c in passed)
        png = _png(heatmap_figure(r.solid, r.heatmap, r.peak_vox))
        png_3d = _png(heatmap_3d_figure(r.solid, r.heatmap, r.peak_vox))
        where = (
            "" if r.suspect_mm is None else " at ({:.1f}, {:.1f}, {:.1f}) mm".format(*r.suspect_mm)
        )
        sizes = [f"voxel {r.pitch_mm} mm"]
        if r.windows > 1 and r.grid is not None:  # the pictures show the worst window only
            sizes.append(f"the worst of {r.windows} windows of a {'x'.join(map(str, r.grid))} grid")
        if r.min_hole_diameter_mm is not None:
            sizes.insert(0, f"smallest hole diameter {r.min_hole_diameter_mm:.2f} mm")
        if r.min_wall_mm is not None:
            sizes.insert(0, f"thinnest wall {r.min_wall_mm:.2f} mm")
        sections.append(
            f"<h2>{_e(Path(r.file).name)}: not printable</h2><p>P(printable) {r.probability:.3f};"
            f" most suspicious region{_e(where)} (part coordinates); {_e(', '.join(sizes))}.</p>"
            f"<p>Failed:</p><ul>{checks}</ul>"
            f"<img alt='Grad-CAM of {_e(r.file)}' src='data:image/png;base64,{png}'>"
            f"<img alt='3D view of the Grad-CAM over {_e(r.file)}'"
            f" src='data:image/png;base64,{png_3d}'>"
        )
    return "".join(sections)


def process_line(results: Sequence[PartCheck]) -> str:
    """What the parts were held to, for the top of the page: the process and its limits, and
    the network's threshold (from the first row that was judged)."""
    judged = [r for r in results if r.hole_limit_mm is not None]
    if not judged:
        return "No part could be judged."
    r = judged[0]
    process = PROCESSES.get(r.process)
    name = f"{r.process}, {process.description}" if process else r.process
    return (
        f"Process: {name}. Limits: thinnest wall {r.wall_limit_mm} mm, smallest hole diameter "
        f"{r.hole_limit_mm} mm. The network objects under P(printable) {r.network_threshold}."
    )


def failed_checks(r: PartCheck) -> list[str]:
    """Each check a part failed, in words with the margin: the network (its P against the
    threshold) and every hole diameter or wall under the process's limit."""
    failed = []
    if r.network_printable is False and r.probability is not None:
        threshold = "its threshold" if r.network_threshold is None else r.network_threshold
        failed.append(f"network: P(printable) {r.probability:.3f} < {threshold}")
    for problem in r.problems:
        kind, _, rest = problem.partition(" ")
        failed.append(f"{'hole diameter' if kind == 'hole' else kind} {rest}")
    return failed


def _rules_only_section(r: PartCheck) -> str:
    """A part the network passes but the process limits fail: each problem and where the rules
    found it, in the part's coordinates."""
    items = []
    for problem in r.problems:
        at = r.hole_at_mm if problem.startswith("hole") else r.wall_at_mm
        where = "" if at is None else " at ({:.1f}, {:.1f}, {:.1f}) mm".format(*at)
        items.append(f"<li>{_e(problem)}{_e(where)}</li>")
    return (
        f"<h2>{_e(Path(r.file).name)}: not printable for {_e(r.process)}</h2>"
        f"<p>The network lets it through (P(printable) {r.probability:.3f}); the rules, at "
        f"{r.wall_pitch_mm or r.pitch_mm} mm voxels, find:</p><ul>{''.join(items)}</ul>"
    )


def _png(fig: Figure) -> str:
    """A figure as base64 PNG text (nothing written to disk)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=80)
    fig.clear()
    return base64.b64encode(buffer.getvalue()).decode()


def _e(text: object) -> str:
    return html.escape(str(text))
