"""`check --report OUT.html`: one self-contained page with the verdict table and, for every part
judged not printable, where the network sees the problem: three slices through the Grad-CAM
peak (the part in grey, the heatmap over it) and the heatmap's projections along each axis."""

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

AXES = ("x", "y", "z")


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


def write_check_report(results: Sequence[PartCheck], path: str | Path) -> Path:
    """Write the page; parts without a kept heatmap (printable ones) appear in the table only."""
    path = Path(path)
    sections = []
    for r in results:
        if r.heatmap is None or r.solid is None or r.peak_vox is None:
            continue
        png = _png(heatmap_figure(r.solid, r.heatmap, r.peak_vox))
        where = (
            "" if r.suspect_mm is None else " at ({:.1f}, {:.1f}, {:.1f}) mm".format(*r.suspect_mm)
        )
        sizes = [f"voxel {r.pitch_mm} mm"]
        if r.min_hole_diameter_mm is not None:
            sizes.insert(0, f"smallest hole {r.min_hole_diameter_mm:.2f} mm")
        if r.min_wall_mm is not None:
            sizes.insert(0, f"thinnest wall {r.min_wall_mm:.2f} mm")
        sections.append(
            f"<h2>{_e(Path(r.file).name)}: not printable</h2><p>P(printable) {r.probability:.3f};"
            f" most suspicious region{_e(where)} (part coordinates); {_e(', '.join(sizes))}.</p>"
            f"<img alt='Grad-CAM of {_e(r.file)}' src='data:image/png;base64,{png}'>"
        )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>printability check</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto}"
        "pre{background:#f6f8fa;padding:1em;overflow-x:auto}img{max-width:100%}</style>"
        f"</head><body><h1>printability check</h1><pre>{_e(format_table(results))}</pre>"
        + ("".join(sections) or "<p>No part was judged not printable.</p>")
        + "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _png(fig: Figure) -> str:
    """A figure as base64 PNG text (nothing written to disk)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=80)
    fig.clear()
    return base64.b64encode(buffer.getvalue()).decode()


def _e(text: object) -> str:
    return html.escape(str(text))
