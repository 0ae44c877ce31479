"""Rendering writes readable PNGs for holed, hole-free and degenerate inputs, fast."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import trimesh

from printability.render import render_grid, render_mesh, render_sample

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
