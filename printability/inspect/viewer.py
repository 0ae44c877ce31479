"""An interactive 3D view of a checked part for `serve`'s page: the repaired mesh coloured by the
network's Grad-CAM at its surface, the measured hole chord or wall ray, and the network's
strongest evidence, to turn and zoom in the browser.

Drawn with Plotly, whose JavaScript ships inside the Python package (`plotly_js`), so the page
works offline: serve hands it out from 127.0.0.1 and nothing is fetched from elsewhere."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import trimesh

from printability.inspect.check import PartCheck
from printability.inspect.figures import PEAK_COLOUR, SHOWN, SPAN_COLOUR, heat_at, marks

MAX_FACES = 300_000  # larger meshes make a page of tens of MB: the pictures say enough
VIEW_FACES = 100_000  # about as many faces as splitting long edges may make
# grey where the evidence is weak (as the report's cuts leave it), then inferno's colours
HEAT_SCALE = [[0.0, "#c8ccd2"], [SHOWN, "#c8ccd2"], [SHOWN + 0.1, "#6a176e"], [0.6, "#dd513a"],
              [0.8, "#fca50a"], [1.0, "#fcffa4"]]  # fmt: skip


def fine_surface(result: PartCheck) -> tuple[np.ndarray, np.ndarray]:
    """The mesh's vertices and faces, with long edges split (down to about two voxels) where
    there is heat to show: colour is given per vertex, so a box's few big triangles would smear
    it across a whole face. Each split halves edges, so long thin triangles multiply fast: the
    edge length grows until the split stays near VIEW_FACES."""
    mesh = result.mesh
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if result.heatmap is None or result.placement is None:
        return vertices, faces
    longest = mesh.edges_unique_length[mesh.faces_unique_edges].max(axis=1)
    edge = max(2 * result.placement.pitch_mm, float(np.sqrt(2 * mesh.area / VIEW_FACES)))
    while _faces_after_split(longest, edge) > VIEW_FACES:
        edge *= 1.5
    rounds = int(np.ceil(np.log2(max(1.0, longest.max() / edge))))
    if rounds == 0:
        return vertices, faces
    return trimesh.remesh.subdivide_to_size(vertices, faces, edge, max_iter=rounds + 1)


def _faces_after_split(longest: np.ndarray, edge: float) -> int:
    """How many faces halving every edge until each face's longest is under `edge` makes (an
    upper bound: each round splits a face in four)."""
    rounds = np.ceil(np.log2(np.maximum(1.0, longest / edge)))
    return int((4.0**rounds).sum())


def interactive_view(result: PartCheck) -> str:
    """A <div> with the part in 3D (Plotly, its script not included: see `plotly_js`), or ""
    when the row kept no mesh or the mesh is too large to send."""
    import plotly.graph_objects as go

    mesh = result.mesh
    if mesh is None or len(mesh.faces) > MAX_FACES:
        return ""
    vertices, faces = fine_surface(result)
    heat = None if result.heatmap is None else heat_at(result, vertices)
    x, y, z = np.round(vertices, 4).T
    i, j, k = np.asarray(faces).T
    surface = dict(x=x, y=y, z=z, i=i, j=j, k=k, name="part", flatshading=False,
                   lighting=dict(ambient=0.5, diffuse=0.7), hoverinfo="skip")  # fmt: skip
    if heat is None:
        traces = [go.Mesh3d(**surface, color="#8fa8c8")]
    else:
        traces = [go.Mesh3d(**surface, intensity=heat, colorscale=HEAT_SCALE, cmin=0, cmax=1,
                            colorbar=dict(title="Grad-CAM"))]  # fmt: skip
    for mark in marks(result):
        ends = np.stack([mark.start, mark.end])
        line = dict(color=SPAN_COLOUR, width=8)
        traces.append(go.Scatter3d(x=ends[:, 0], y=ends[:, 1], z=ends[:, 2], mode="lines",
                                   line=line, name=mark.label))  # fmt: skip
    if result.suspect_mm is not None:
        px, py, pz = ([v] for v in result.suspect_mm)
        peak = dict(size=6, color=PEAK_COLOUR, symbol="cross")
        traces.append(go.Scatter3d(x=px, y=py, z=pz, mode="markers", name="network's evidence",
                                   marker=peak))  # fmt: skip
    axes = {f"{a}axis": dict(title=f"{a} (mm)") for a in "xyz"}
    layout = dict(scene=dict(aspectmode="data", **axes), height=560,
                  margin=dict(l=0, r=0, t=30, b=0), legend=dict(x=0, y=1),
                  title=dict(text="drag to turn, scroll to zoom", font=dict(size=12)))  # fmt: skip
    return go.Figure(traces, layout).to_html(full_html=False, include_plotlyjs=False,
                                             config=dict(displaylogo=False))  # fmt: skip


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's JavaScript, from the installed package (about 5 MB)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
