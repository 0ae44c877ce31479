"""Rendering writes readable PNGs for holed, hole-free and degenerate inputs, fast."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import trimesh
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from printability.config import Preset
from printability.geometry.morphology import distance_to_outside
from printability.render import (
    render_grid,
    render_mesh,
    render_sample,
    sample_figure,
    thin_wall_mask,
)

N = 32
AXIS = np.array([0.3, 0.5, 0.81]) / np.linalg.norm([0.3, 0.5, 0.81])
CENTER = np.array([15.3, 16.7, 15.2])
RADIUS = 3.0


def _box_with_hole(axis: np.ndarray | None = AXIS, radius: float = RADIUS) -> np.ndarray:
    """A box filling most of a 32^3 grid, with a cylinder of `radius` carved along `axis`."""
    grid = np.zeros((N, N, N), dtype=bool)
    grid[4:28, 5:27, 6:26] = True
    if axis is None:
        return grid
    rel = np.indices(grid.shape).reshape(3, -1).T + 0.5 - CENTER
    off_axis = rel - np.outer(rel @ axis, axis)
    return grid & (np.linalg.norm(off_axis, axis=1) > radius).reshape(grid.shape)


def _record(defect: str = "printable_hole", axis: np.ndarray | None = AXIS) -> dict:
    """A manifest row for the box; NaN hole fields when `axis` is None."""
    row = {
        "sample_id": f"0000001-{defect}",
        "defect": defect,
        "label": int(defect in ("no_defect", "printable_hole")),
        "hole_radius_vox": RADIUS if axis is not None else math.nan,
        "wall_vox": 5.5 if axis is not None else math.nan,
        "pitch_mm": 0.4,
    }
    for k, name in enumerate("xyz"):
        row[f"hole_center_{name}"] = CENTER[k] if axis is not None else math.nan
        row[f"hole_axis_{name}"] = axis[k] if axis is not None else math.nan
    return row


def _check_png(path: Path, min_width: int = 300, min_height: int = 200) -> np.ndarray:
    """The PNG exists, has a sane pixel size and is not a single colour; returns its pixels."""
    assert path.is_file() and path.stat().st_size > 1000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[0] >= min_height and img.shape[1] >= min_width
    assert img.shape[0] <= 5000 and img.shape[1] <= 5000
    rgb = (img[..., :3] * 255).astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert np.unique(packed).size > 10
    return img


def _has_red(img: np.ndarray) -> bool:
    """Whether some pixels are strongly red (the hole axis overlay)."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return bool(np.any((r > 0.8) & (g < 0.3) & (b < 0.3)))


def test_render_sample_with_hole(tmp_path: Path) -> None:
    out = render_sample(_box_with_hole(), _record(), tmp_path / "nested" / "dir" / "s.png")
    assert out == tmp_path / "nested" / "dir" / "s.png"
    img = _check_png(out)
    assert img.shape[1] > img.shape[0]  # four panels side by side
    assert _has_red(img)


def test_render_sample_axis_along_grid_axis(tmp_path: Path) -> None:
    """An axis perpendicular to one slice plane (drawn there as a circle) renders too."""
    axis = np.array([0.0, 0.0, 1.0])
    out = render_sample(_box_with_hole(axis), _record("small_hole", axis), str(tmp_path / "z.png"))
    assert _has_red(_check_png(out))


def test_render_sample_without_hole(tmp_path: Path) -> None:
    record = _record("no_defect", axis=None)
    out = render_sample(_box_with_hole(axis=None), record, tmp_path / "none.png")
    assert not _has_red(_check_png(out))


def test_render_sample_missing_fields_and_empty_grid(tmp_path: Path) -> None:
    """A bare record (CSV-style empty strings) and an all-empty grid still render."""
    record = {"sample_id": "x", "hole_center_x": "", "pitch_mm": "nan"}
    out = render_sample(np.zeros((16, 16, 16), dtype=np.uint8), record, tmp_path / "e.png")
    _check_png(out)


def test_render_sample_rejects_non_3d(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_sample(np.zeros((8, 8), dtype=bool), _record(), tmp_path / "bad.png")


def test_render_mesh_box(tmp_path: Path) -> None:
    mesh = trimesh.creation.box(extents=(20.0, 10.0, 5.0))
    out = render_mesh(mesh, tmp_path / "m" / "box.png", title="box")
    img = _check_png(out)
    assert img.shape[1] > img.shape[0]


def test_render_grid_four_samples(tmp_path: Path) -> None:
    samples = [
        (_box_with_hole(), _record("printable_hole")),
        (_box_with_hole(radius=1.2), _record("small_hole")),
        (_box_with_hole(axis=None), _record("no_defect", axis=None)),
        (_box_with_hole(), _record("thin_wall")),
    ]
    out = render_grid(samples, tmp_path / "grid.png", columns=2)
    img = _check_png(out)
    assert _has_red(img)


THIN_PRESET = Preset("test", r_p=4.0, r_np=2.0, b_p=3.0, b_np=2.0, reference_resolution=N)
BOX = (slice(4, 28), slice(4, 28), slice(4, 28))


def _thin_wall_box(wall: float = 1.5) -> tuple[np.ndarray, np.ndarray, dict]:
    """A 24^3 box in a 32^3 grid with a hole of radius 4 along z whose surface is `wall` voxels
    from the x = 4 face; returns the uncut box, the carved sample and its manifest row."""
    box = np.zeros((N, N, N), dtype=bool)
    box[BOX] = True
    center = np.array([4 + wall + 4.0, 16.0, 16.0])
    rel = np.indices(box.shape) + 0.5 - center[:, None, None, None]
    carved = box & (rel[0] ** 2 + rel[1] ** 2 > 4.0**2)
    row = {"sample_id": "t", "defect": "thin_wall", "label": 0, "pitch_mm": 2.0}
    row.update(hole_radius_vox=4.0, wall_vox=wall)
    for k, name in enumerate("xyz"):
        row[f"hole_center_{name}"] = center[k]
        row[f"hole_axis_{name}"] = float(k == 2)
    return box, carved, row


def test_thin_wall_mask_marks_the_wall_between_the_hole_and_the_near_face() -> None:
    box, carved, row = _thin_wall_box()
    mask = thin_wall_mask(carved, row, THIN_PRESET)
    assert mask is not None and mask.sum() >= 10
    assert not (mask & ~carved).any()  # only material is marked
    cells = np.argwhere(mask)
    assert cells[:, 0].max() <= 5  # between the hole (x >= 5.5) and the face at x = 4
    assert distance_to_outside(box)[mask].max() <= 2.0  # near the part's outside
    assert np.ptp(cells[:, 2]) >= 4  # along the hole, not one spot
    assert thin_wall_mask(carved, row, None) is None  # no thresholds: nothing to measure
    _, thick, row_thick = _thin_wall_box(wall=9.0)
    row_thick["defect"] = "printable_hole"
    assert thin_wall_mask(thick, row_thick, THIN_PRESET) is None


def test_slices_go_through_the_thin_wall_and_show_it_in_orange(tmp_path: Path) -> None:
    _, carved, row = _thin_wall_box()
    fig = sample_figure(carved, row, thresholds=THIN_PRESET, note="m: P(printable) = 0.9")
    slices = [ax for ax in fig.axes if ax.images]
    assert len(slices) == 3
    assert int(slices[0].get_title().split()[2]) <= 5  # the x slice lies in the wall
    for ax in slices:  # each slice cuts the wall, and shows it as its own colour
        assert (np.asarray(ax.images[0].get_array()) == 2).any()
    assert "thin wall 1.50 vox (3.00 mm) in orange" in fig.get_suptitle()
    out = render_sample(carved, row, tmp_path / "thin.png", thresholds=asdict(THIN_PRESET))
    assert _has_orange(_check_png(out))
    assert not _has_orange(_check_png(render_sample(carved, row, tmp_path / "plain.png")))


@pytest.mark.parametrize("kind", ["no_defect", "thin_wall"])
def test_the_title_lines_never_overlap_the_panel_titles(kind: str) -> None:
    """Four title lines (sample, sizes, where the slices go, the verdict) in a short figure."""
    if kind == "no_defect":
        voxels, row, th = _box_with_hole(axis=None), _record(kind, axis=None), None
    else:
        _, voxels, row = _thin_wall_box()
        th = THIN_PRESET
    note = "distnet (run): P(printable) = 0.441, judged not printable"
    fig = sample_figure(voxels, row, note=note, figsize=(14, 4), thresholds=th)
    assert fig.get_suptitle().count("\n") == 3
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    title = next(t for t in fig.findobj(Text) if t.get_text() == fig.get_suptitle())
    bottom = title.get_window_extent(renderer).y0
    for ax in fig.axes:
        assert ax.title.get_window_extent(renderer).y1 <= bottom


def _has_orange(img: np.ndarray) -> bool:
    """Whether some pixels are the thin-wall orange."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return bool(np.any((r > 0.9) & (g > 0.4) & (g < 0.65) & (b < 0.15)))
