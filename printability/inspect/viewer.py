"""An interactive 3D view of a checked part for `serve`'s page: the repaired mesh coloured by the
network's Grad-CAM at its surface, the measured hole chord or wall ray, and the network's
strongest evidence, to turn and zoom in the browser.

Drawn with Plotly, whose JavaScript ships inside the Python package (`plotly_js`), so the page
works offline: serve hands it out from 127.0.0.1 and nothing is fetched from elsewhere."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import trimesh
from scipy.ndimage import map_coordinates

from printability.inspect.check import PartCheck
from printability.inspect.figures import SPAN_COLOUR, marks

MAX_FACES = 300_000  # larger meshes make a page of tens of MB: the pictures say enough
VIEW_FACES = 100_000  # about as many faces as splitting long edges may make
# grey where the evidence is weak (as the report's cuts leave it), then inferno's colours
HEAT_SCALE = [[0.0, "#c8ccd2"], [0.25, "#c8ccd2"], [0.35, "#6a176e"], [0.6, "#dd513a"],
              [0.8, "#fca50a"], [1.0, "#fcffa4"]]  # fmt: skip


def fine_surface(result: PartCheck) -> tuple[np.ndarray, np.ndarray]:
    """The mesh's vertices and faces, its long edges split down to about two voxels (or fewer
    splits on a large part, to stay near VIEW_FACES): colour is given per vertex, so a box's
    few big triangles would smear the heat across a whole face."""
    mesh = result.mesh
    if result.heatmap is None or result.placement is None:
        return np.asarray(mesh.vertices), np.asarray(mesh.faces)
    edge = max(2 * result.placement.pitch_mm, float(np.sqrt(2 * mesh.area / VIEW_FACES)))
    return trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, edge, max_iter=12)


def surface_heat(result: PartCheck, vertices: np.ndarray) -> np.ndarray | None:
    """The Grad-CAM at each vertex (0 outside the judged window), or None without one."""
    if result.heatmap is None or result.placement is None:
        return None
    offset = np.asarray(result.window_offset or (0, 0, 0), float)
    voxels = result.placement.to_voxels(vertices) - offset  # voxel i spans [i, i + 1)
    heat = map_coordinates(np.asarray(result.heatmap, float), (voxels - 0.5).T, order=1,
                           mode="nearest")  # fmt: skip
    inside = ((voxels >= 0) & (voxels <= np.array(result.heatmap.shape))).all(axis=1)
    return np.where(inside, np.clip(heat, 0, 1), 0.0)


def interactive_view(result: PartCheck) -> str:
    """A <div> with the part in 3D (Plotly, its script not included: see `plotly_js`), or ""
    when the row kept no mesh or the mesh is too large to send."""
    import plotly.graph_objects as go

    mesh = result.mesh
    if mesh is None or len(mesh.faces) > MAX_FACES:
        return ""
    vertices, faces = fine_surface(result)
    heat = surface_heat(result, vertices)
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
        traces.append(go.Scatter3d(x=px, y=py, z=pz, mode="markers", name="network's evidence",
                                   marker=dict(size=6, color="cyan", symbol="cross")))  # fmt: skip
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
