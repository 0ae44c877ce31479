"""The check report's pictures, in the part's own coordinates: the judged grid and its Grad-CAM
resampled along the mesh's axes in mm (`part_frame`), cut in three planes through the feature
that failed with the mesh's outline and the measured hole or wall drawn (`slices_figure`), and
a 3D view from two sides (`view_3d_figure`). Heat is shown on material only: the network's
evidence about air is not a place a designer can change.

The grid `check` judges is turned onto the part's principal axes (geometry.normalize); the
pictures turn it back, so their axes are the ones the designer's CAD shows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d import Axes3D
from scipy.ndimage import map_coordinates

from printability.inspect.check import PartCheck

AXES = ("x", "y", "z")
HOT = 0.5  # Grad-CAM level from which a voxel is drawn as hot in the 3D view
SHOWN = 0.25  # Grad-CAM level under which the slices leave the material plain grey
VIEWS = ((25, 35), (25, 215))  # (elevation, azimuth) in degrees: two opposite sides
SPAN_COLOUR = "#1565c0"  # the measured hole diameter or wall
PEAK_COLOUR = "darkturquoise"  # a name both matplotlib and Plotly know


@dataclass(frozen=True)
class PartFrame:
    """The judged grid on a lattice along the mesh's own axes: cell (i, j, k) is centred at
    origin_mm + (i, j, k) * pitch_mm. `heat` is zero off the material."""

    solid: np.ndarray  # (X, Y, Z) bool
    heat: np.ndarray  # (X, Y, Z) float in [0, 1]
    origin_mm: np.ndarray  # (3,)
    pitch_mm: float

    def index(self, point_mm: Sequence[float]) -> np.ndarray:
        """The cell holding a point, clipped into the lattice."""
        cell = np.round((np.asarray(point_mm, float) - self.origin_mm) / self.pitch_mm)
        return np.clip(cell, 0, np.array(self.solid.shape) - 1).astype(int)

    def to_mm(self, cells: np.ndarray) -> np.ndarray:
        """Cell indices (n, 3) to their centres in mm."""
        return self.origin_mm + np.asarray(cells, float) * self.pitch_mm

    def holds(self, point_mm: Sequence[float]) -> bool:
        """Whether a point lies in the frame (within a cell of its outer cells' centres)."""
        low = self.origin_mm - self.pitch_mm
        high = self.to_mm(np.array(self.solid.shape) - 1) + self.pitch_mm
        return bool(np.all(point_mm >= low) and np.all(point_mm <= high))

    def extent(self, u: int, v: int) -> tuple[float, float, float, float]:
        """imshow's extent for a plane with axes (u, v), cell edges included."""
        low, high = self.to_mm(np.zeros(3)), self.to_mm(np.array(self.solid.shape) - 1)
        half = self.pitch_mm / 2
        return (low[u] - half, high[u] + half, low[v] - half, high[v] + half)


@dataclass(frozen=True)
class Mark:
    """A size drawn on the pictures: the segment it was measured along and its label."""

    start: np.ndarray
    end: np.ndarray
    label: str
    failed: bool  # under the process's limit

    @property
    def middle(self) -> np.ndarray:
        return (self.start + self.end) / 2

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.end - self.start))


def part_frame(result: PartCheck) -> PartFrame:
    """The row's judged grid (`solid`, its `heatmap`) resampled on a lattice along the mesh's
    axes at the grid's pitch, over the part's bounds within the judged window. The lattice
    runs through the voxel centres, so an unrotated part is shown voxel for voxel."""
    placement, size = result.placement, np.array(result.solid.shape)
    offset = np.asarray(result.window_offset or (0, 0, 0), float)
    pitch = placement.pitch_mm
    corners = placement.to_mm(np.array(list(itertools.product(*[(0, n) for n in size]))) + offset)
    low = np.maximum(corners.min(axis=0), result.mesh.bounds[0] - pitch)
    high = np.minimum(corners.max(axis=0), result.mesh.bounds[1] + pitch)
    anchor = placement.to_mm((offset + 0.5)[None])[0]  # a voxel's centre
    first, last = np.floor((low - anchor) / pitch), np.ceil((high - anchor) / pitch)
    lines = [anchor[a] + np.arange(first[a], last[a] + 1) * pitch for a in range(3)]
    points = np.stack(np.meshgrid(*lines, indexing="ij"), axis=-1).reshape(-1, 3)
    voxels = placement.to_voxels(points) - offset  # voxel i spans [i, i + 1)
    cells = np.floor(voxels + 1e-9).astype(int)
    inside = ((cells >= 0) & (cells < size)).all(axis=1)
    solid = np.zeros(len(points), bool)
    solid[inside] = result.solid.astype(bool)[tuple(cells[inside].T)]
    shape = tuple(len(line) for line in lines)
    heat = np.where(solid, heat_at(result, points), 0.0).reshape(shape)
    return PartFrame(solid.reshape(shape), heat, np.array([line[0] for line in lines]), pitch)


def heat_at(result: PartCheck, points_mm: np.ndarray) -> np.ndarray:
    """The row's Grad-CAM at points in mm (trilinear between voxel centres), 0 outside the
    judged window or without a heatmap."""
    if result.heatmap is None:
        return np.zeros(len(points_mm))
    offset = np.asarray(result.window_offset or (0, 0, 0), float)
    voxels = result.placement.to_voxels(points_mm) - offset  # voxel i spans [i, i + 1)
    heat = map_coordinates(np.asarray(result.heatmap, float), (voxels - 0.5).T, order=1,
                           mode="nearest")  # fmt: skip
    inside = ((voxels >= 0) & (voxels <= np.array(result.heatmap.shape))).all(axis=1)
    return np.where(inside, np.clip(heat, 0, 1), 0.0)


def marks(result: PartCheck) -> list[Mark]:
    """The sizes measured on the mesh, failing ones first: the hole's narrowest chord (its
    diameter) and the wall's thinnest ray."""
    found = []
    for kind, span, size in (("hole", result.hole_span_mm, result.min_hole_diameter_mm),
                             ("wall", result.wall_span_mm, result.min_wall_mm)):  # fmt: skip
        if span is None or size is None:
            continue
        label = f"{'hole diameter' if kind == 'hole' else 'wall'} {size:.2f} mm"
        failed = any(p.startswith(kind) for p in result.problems)
        found.append(Mark(np.array(span[0]), np.array(span[1]), label, failed))
    return sorted(found, key=lambda mark: not mark.failed)


def focus(result: PartCheck, frame: PartFrame) -> tuple[np.ndarray, str, float]:
    """Where to cut, why, and the size of what is there (mm, 0 when unknown): the failing
    measured size, else the network's strongest evidence, else the rules' first problem, else
    the part's middle; the first of these within the frame."""
    candidates = [(m.middle, m.label, m.length) for m in marks(result) if m.failed]
    if result.suspect_mm is not None:
        candidates.append((np.array(result.suspect_mm), "the network's strongest evidence", 0.0))
    for problem in result.problems:
        at = result.hole_at_mm if problem.startswith("hole") else result.wall_at_mm
        if at is not None:
            candidates.append((np.array(at), problem, 0.0))
    for point, why, size in candidates:
        if frame.holds(point):
            return point, why, size
    middle = frame.to_mm((np.array(frame.solid.shape) - 1) / 2)
    return middle, "the middle of the part", 0.0


def slices_figure(result: PartCheck, frame: PartFrame) -> Figure:
    """Top row: the part cut through the focus, normal to x, y and z (mm, the mesh's axes),
    close up, with its outline, the heat on its material and the measured sizes; bottom row:
    the whole part, the heat's maximum through the material along each axis over its
    silhouette, with the close-up's square dashed. A measured size outside the pictured
    window (a large part) is left out of the pictures; the page gives its place."""
    centre, why, size = focus(result, frame)
    cell = frame.index(centre)
    drawn = [mark for mark in marks(result) if frame.holds(mark.middle)]  # in the pictures
    half = zoom_half_width(frame, size)
    fig = Figure(figsize=(13, 9.5), layout="constrained")
    for normal in range(3):
        u, v = [a for a in range(3) if a != normal]
        index = [slice(None)] * 3
        index[normal] = cell[normal]
        at = frame.to_mm(cell)[normal]
        cut = fig.add_subplot(2, 3, normal + 1)
        image = _plane(cut, frame, frame.solid[tuple(index)], frame.heat[tuple(index)], u, v)
        _outline(cut, result, frame.to_mm(cell), normal, u, v)  # the plane the cells show
        for mark in drawn:  # dotted: off the cut, seen through the material
            _segment(cut, mark, u, v, off_cut=abs(mark.middle[normal] - at) > frame.pitch_mm)
        cut.set(
            xlim=(centre[u] - half, centre[u] + half), ylim=(centre[v] - half, centre[v] + half)
        )
        cut.set_title(f"cut at {AXES[normal]} = {at:.1f} mm, close up")
        seen = fig.add_subplot(2, 3, normal + 4)
        _plane(seen, frame, frame.solid.any(axis=normal), frame.heat.max(axis=normal), u, v)
        for mark in drawn:
            _segment(seen, mark, u, v)
        seen.add_patch(Rectangle((centre[u] - half, centre[v] - half), 2 * half, 2 * half,
                                 fill=False, ls="--", color="0.2", lw=1))  # fmt: skip
        whole = "whole part" if result.windows <= 1 else "judged window"
        what = "heat, maximum" if result.heatmap is not None else "seen"
        seen.set_title(f"{whole}: {what} along {AXES[normal]}")
        for ax in (cut, seen):
            if result.suspect_mm is not None:
                ax.plot(result.suspect_mm[u], result.suspect_mm[v], "+", color=PEAK_COLOUR,
                        markersize=14, markeredgewidth=2)  # fmt: skip
            ax.set(xlabel=f"{AXES[u]} (mm)", ylabel=f"{AXES[v]} (mm)")
    fig.suptitle(f"Cut through {why}, in the part's own coordinates", fontsize=12)
    if result.heatmap is not None:  # no colour bar for a heat the network did not give
        fig.colorbar(image, ax=fig.axes, shrink=0.6, label="Grad-CAM on the material "
                     "(evidence against printing)")  # fmt: skip
    fig.legend(handles=_legend(result, drawn), loc="outside lower center", ncol=3, frameon=False)
    return fig


def zoom_half_width(frame: PartFrame, feature_mm: float) -> float:
    """Half the side of the close-up: a few times the feature cut through (or 12 voxels), so a
    2 mm hole in a 200 mm part is still seen, but never more than the whole part."""
    whole = frame.pitch_mm * max(frame.solid.shape) / 2
    return float(min(whole, max(4 * feature_mm, 12 * frame.pitch_mm)))


def _plane(
    ax: Axes, frame: PartFrame, part: np.ndarray, heat: np.ndarray, u: int, v: int
) -> AxesImage:
    """Material grey, air white, and the heat over the material where it is notable."""
    extent = frame.extent(u, v)
    ax.imshow(part.T, origin="lower", cmap="Greys", vmin=0, vmax=1.6, extent=extent,
              interpolation="nearest")  # fmt: skip
    shown = np.ma.masked_where(~part.T | (heat.T < SHOWN), heat.T)
    image = ax.imshow(shown, origin="lower", cmap="inferno", vmin=0, vmax=1, alpha=0.75,
                      extent=extent, interpolation="nearest")  # fmt: skip
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.set_aspect("equal")
    return image


def _outline(ax: Axes, result: PartCheck, centre: np.ndarray, normal: int, u: int, v: int) -> None:
    """The mesh cut by the plane through `centre` normal to axis `normal`: the part's true
    outline, which the voxels only approximate."""
    section = result.mesh.section(plane_origin=centre, plane_normal=np.eye(3)[normal])
    if section is None:
        return
    for line in section.discrete:
        ax.plot(line[:, u], line[:, v], color="k", lw=1.0)


def _segment(ax: Axes, mark: Mark, u: int, v: int, off_cut: bool = False) -> None:
    """A measured size as a segment with end ticks, projected on the plane (u, v)."""
    ends = np.stack([mark.start, mark.end])
    ax.plot(ends[:, u], ends[:, v], ls=":" if off_cut else "-", marker="|", color=SPAN_COLOUR,
            lw=2.5, markersize=9, markeredgewidth=2)  # fmt: skip


def _legend(result: PartCheck, drawn: list[Mark]) -> list[Line2D]:
    """What the lines and markers mean, with the sizes measured."""
    handles = [Line2D([], [], color="k", lw=1, label="the part's outline in the cut (mesh)")]
    handles += [Line2D([], [], color=SPAN_COLOUR, lw=2.5, marker="|", markersize=9,
                       label=f"measured: {mark.label}") for mark in drawn]  # fmt: skip
    if result.suspect_mm is not None:
        peak = "the network's strongest evidence"
        handles.append(Line2D([], [], color=PEAK_COLOUR, marker="+", ls="", markersize=12,
                              markeredgewidth=2, label=peak))  # fmt: skip
    return handles


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


def view_3d_figure(result: PartCheck, frame: PartFrame, max_points: int = 20_000) -> Figure:
    """The part's surface (light grey, translucent) with its hot voxels coloured by heat, the
    measured sizes and the network's peak, from two opposite sides, in mm; point clouds are
    thinned to `max_points` each."""
    rng = np.random.default_rng(0)  # the same thinning every time: reproducible pictures
    skin = frame.to_mm(_thin(surface_voxels(frame.solid), max_points, rng))
    hot, heat = hot_voxels(frame.solid, frame.heat)
    keep = _thin(np.arange(len(hot)), max_points, rng)
    hot, heat = frame.to_mm(hot[keep]), heat[keep]
    band = np.digitize(heat, np.linspace(HOT, 1, 6)[1:-1])  # 5 bands, hottest drawn last
    fig = Figure(figsize=(12, 5.5))  # fixed margins: a constrained layout doubles the time
    for k, (elev, azim) in enumerate(VIEWS):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d", computed_zorder=False)  # call order
        ax.scatter(*skin.T, s=4, c="0.55", alpha=0.2, linewidths=0, depthshade=False)
        image = None
        for b in range(5):  # a 3D scatter is depth-sorted: bands keep the hot core in sight
            image = ax.scatter(*hot[band == b].T, c=heat[band == b], s=14, cmap="inferno",
                               vmin=HOT, vmax=1, alpha=0.5, linewidths=0,
                               depthshade=False)  # fmt: skip
        for mark in (mark for mark in marks(result) if frame.holds(mark.middle)):
            ax.plot(*np.stack([mark.start, mark.end]).T, color=SPAN_COLOUR, lw=3)
        if result.suspect_mm is not None:
            ax.scatter(*np.asarray(result.suspect_mm, float)[:, None], s=250, c=PEAK_COLOUR,
                       marker="P", edgecolors="k", depthshade=False)  # fmt: skip
        _frame_3d(ax, frame)
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"elevation {elev}\N{DEGREE SIGN}, azimuth {azim}\N{DEGREE SIGN}")
    fig.subplots_adjust(left=0.07, right=0.9, bottom=0.02, top=0.98, wspace=0.15)
    fig.colorbar(image, ax=fig.axes, shrink=0.6,
                 label=f"Grad-CAM \N{GREATER-THAN OR EQUAL TO} {HOT} on the part")  # fmt: skip
    return fig


def _thin(points: np.ndarray, max_points: int, rng: np.random.Generator) -> np.ndarray:
    """At most `max_points` rows of `points`, drawn uniformly without replacement (in order)."""
    if len(points) <= max_points:
        return points
    return points[np.sort(rng.choice(len(points), max_points, replace=False))]


def _frame_3d(ax: Axes3D, frame: PartFrame) -> None:
    """Axes spanning the frame with true proportions, labelled in mm; the z label is kept
    upright (mplot3d turns it with the view, upside down from some sides)."""
    low = frame.to_mm(np.zeros(3)) - frame.pitch_mm / 2
    high = frame.to_mm(np.array(frame.solid.shape) - 1) + frame.pitch_mm / 2
    for axis in range(3):
        getattr(ax, f"set_{AXES[axis]}lim")(low[axis], high[axis])
    ax.set_box_aspect(tuple(high - low))
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.zaxis.set_rotate_label(False)
    ax.set_zlabel("z (mm)", rotation=90)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=8)
