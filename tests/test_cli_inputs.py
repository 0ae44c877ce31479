"""The command line on bad input: exit code 2 and one readable error line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from printability.cli import main
from printability.data import open_dataset

TINY = ["--resolution", "32", "--workers", "1", "--no-progress"]


def _error_line(capsys) -> str:
    """The single stderr line of a failed command."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("printability: error: ")
    return lines[0]


def _generate(out: Path, source: Path | str, count: int = 12, *extra: str) -> int:
    args = ["generate", "--out", str(out), "--source", str(source), "--count", str(count)]
    return main([*args, *TINY, *extra])


def _box_stl(path: Path, extents=(40.0, 40.0, 30.0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.creation.box(extents=extents).export(str(path))
    return path


def _open_tube_stl(path: Path) -> Path:
    cylinder = trimesh.creation.cylinder(radius=15.0, height=30.0, sections=32)
    side = np.abs(cylinder.face_normals[:, 2]) < 0.5
    trimesh.Trimesh(cylinder.vertices, cylinder.faces[side], process=False).export(str(path))
    return path


def _corrupt_stl(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    return path


@pytest.fixture
def good_folder(tmp_path) -> Path:
    """Two good 40x40x30 mm boxes, one corrupt STL and a file that is not a mesh."""
    src = tmp_path / "good"
    _box_stl(src / "a_box.stl")
    _box_stl(src / "sub" / "b_box.stl")
    _corrupt_stl(src / "corrupt.stl")
    (src / "notes.txt").write_text("not a mesh")
    return src


# --- show --------------------------------------------------------------------------------------


def test_show_missing_path(tmp_path, capsys):
    path = tmp_path / "missing.stl"
    assert main(["show", str(path)]) == 2
    line = _error_line(capsys)
    assert str(path) in line


def test_show_a_good_mesh(tmp_path, capsys):
    mesh = _box_stl(tmp_path / "box.stl")
    png = tmp_path / "box.png"
    assert main(["show", str(mesh), "--out", str(png)]) == 0
    assert png.is_file() and png.stat().st_size > 0
    assert capsys.readouterr().out.strip() == str(png)


def test_show_empty_stl(tmp_path, capsys):
    path = tmp_path / "empty.stl"
    path.write_bytes(b"")
    assert main(["show", str(path), "--out", str(tmp_path / "x.png")]) == 2
    line = _error_line(capsys)
    assert str(path) in line and "empty" in line
    assert not (tmp_path / "x.png").exists()


def test_show_open_mesh(tmp_path, capsys):
    path = _open_tube_stl(tmp_path / "tube.stl")
    assert main(["show", str(path), "--out", str(tmp_path / "x.png")]) == 2
    line = _error_line(capsys)
    assert str(path) in line and "not a solid: an open surface" in line


def test_show_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    assert main(["show", str(tmp_path)]) == 2
    assert str(tmp_path) in _error_line(capsys)


def test_stats_of_a_missing_dataset(tmp_path, capsys):
    assert main(["stats", str(tmp_path / "nothing")]) == 2
    assert str(tmp_path / "nothing") in _error_line(capsys)


# --- generate: bad options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, words",
    [
        (["--resolution", "8"], "resolution"),
        (["--resolution", "512"], "resolution"),
        (["--shard", "3/2"], "--shard"),
        (["--shard", "1/0"], "--shard"),
        (["--shard", "half"], "--shard"),
        (["--count", "0"], "count"),
        (["--count", "-4"], "count"),
        (["--workers", "0"], "--workers"),
        (["--windows", "1.5"], "--windows"),
        (["--max-holes", "0"], "max_holes"),
        (["--pitch-mm", "0"], "pitch_mm"),
    ],
)
def test_generate_bad_option_value(tmp_path, capsys, good_folder, option, words):
    out = tmp_path / "out"
    args = ["generate", "--out", str(out), "--source", str(good_folder), "--count", "4"]
    args += ["--workers", "1", "--no-progress", "--resolution", "32", *option]
    assert main(args) == 2
    assert words in _error_line(capsys)
    assert not out.exists()  # nothing written for a command that was refused


@pytest.mark.parametrize(
    "option", [["--resolution", "abc"], ["--units", "furlong"], ["--preset", "x"]]
)
def test_generate_unparsable_option_is_a_usage_error(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as info:
        main(["generate", "--out", str(tmp_path / "out"), *option])
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("printability generate: error:")


def test_generate_source_that_is_not_a_folder(tmp_path, capsys):
    missing = tmp_path / "no_such_folder"
    assert _generate(tmp_path / "out", missing) == 2
    assert str(missing) in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_generate_source_folder_without_meshes(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "notes.txt").write_text("no meshes here")
    assert _generate(tmp_path / "out", src) == 2
    line = _error_line(capsys)
    assert str(src) in line and "no mesh files" in line


# --- generate: bad and mixed mesh folders ------------------------------------------------------


def test_generate_from_only_bad_files(tmp_path, capsys):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "empty.stl").write_bytes(b"")
    _corrupt_stl(src / "corrupt.stl")
    _open_tube_stl(src / "open.stl")
    out = tmp_path / "out"
    assert _generate(out, src, 12) == 2  # no samples made
    stdout = capsys.readouterr().out
    assert "made 0 samples" in stdout
    lines = stdout.splitlines()
    start = lines.index("dropped base parts (3):")
    dropped = lines[start + 1 : start + 4]
    assert any("empty.stl: empty file" in line for line in dropped)
    assert any("open.stl: not a solid" in line for line in dropped)
    assert any("corrupt.stl" in line for line in dropped)
    assert len(open_dataset(out)) == 0


def test_generate_from_a_mixed_folder(tmp_path, capsys, good_folder):
    out = tmp_path / "out"
    # 12 samples = 3 base parts: the three mesh files in sorted order, one part each
    assert _generate(out, good_folder, 12) == 0
    stdout = capsys.readouterr().out
    assert "made 8 samples" in stdout
    assert "used 2 of 3 mesh files (67%)" in stdout
    lines = stdout.splitlines()
    assert any(line.startswith("  not used: ") and "corrupt.stl" not in line for line in lines)
    start = lines.index("dropped base parts (1):")
    assert "corrupt.stl" in lines[start + 1]

    ds = open_dataset(out)
    assert len(ds) == 8
    good = {"a_box.stl", str(Path("sub") / "b_box.stl")}
    sources = {record["source"] for record in ds.records}
    assert sources == good
    assert all(record["source"] in good for record in ds.records)
    assert sorted(record["defect"] for record in ds.records) == sorted(
        ["no_defect", "printable_hole", "small_hole", "thin_wall"] * 2
    )
    voxels, record = ds[0]
    assert voxels.shape == (32, 32, 32) and voxels.any()
    assert record["resolution"] == 32


def test_generate_names_the_dropped_file(tmp_path, capsys, good_folder):
    assert _generate(tmp_path / "out", good_folder, 12) == 0
    assert "corrupt.stl" in capsys.readouterr().out


# --- generate: existing output -----------------------------------------------------------------


def test_generate_twice_needs_resume(tmp_path, capsys, good_folder):
    out = tmp_path / "out"
    assert _generate(out, good_folder, 12) == 0
    capsys.readouterr()
    made = len(open_dataset(out))
    assert made == 8
    assert _generate(out, good_folder, 12) == 2
    line = _error_line(capsys)
    assert str(out) in line and "already holds a dataset" in line
    assert len(open_dataset(out)) == made  # the first run's data is untouched


def test_generate_again_with_resume(tmp_path, capsys, good_folder):
    out = tmp_path / "out"
    assert _generate(out, good_folder, 12) == 0
    capsys.readouterr()
    assert _generate(out, good_folder, 12, "--resume") == 0
    assert "resumed: 1 shards were already done" in capsys.readouterr().out
    assert len(open_dataset(out)) == 8


def test_resume_with_other_options_is_refused(tmp_path, capsys, good_folder):
    out = tmp_path / "out"
    assert _generate(out, good_folder, 8) == 0
    capsys.readouterr()
    assert _generate(out, good_folder, 8, "--resume", "--seed", "5") == 2
    line = _error_line(capsys)
    assert str(out) in line and "other options" in line


def test_failed_procedural_run_leaves_no_dataset_behind(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["generate", "--out", str(out), "--count", "4", *TINY])
    if rc == 0:
        assert len(open_dataset(out)) > 0
    else:
        assert rc == 2
        _error_line(capsys)
        assert not (out / "dataset.json").exists()


# --- part families -----------------------------------------------------------------------------


def test_parts_list_names_every_family(capsys):
    from printability.geometry.parts import PART_KINDS

    assert main(["parts", "--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(PART_KINDS)


def test_parts_of_chosen_families_and_a_contact_sheet_per_family(tmp_path, capsys):
    stl = tmp_path / "stl"
    assert main(["parts", "--out", str(stl), "--kind", "blob,pipe", "--count", "1"]) == 0
    written = sorted(p.name for p in (tmp_path / "stl").iterdir())
    assert written == ["blob-0000.stl", "pipe-0000.stl"]
    assert trimesh.load(tmp_path / "stl" / "blob-0000.stl").is_watertight
    data = tmp_path / "data"
    args = ["generate", "--out", str(data), "--count", "12", "--families", "shell", "csg", *TINY]
    assert main(args) == 0
    sheet = tmp_path / "families.png"
    assert main(["show", str(data), "--per-family", "1", "--out", str(sheet)]) == 0
    assert sheet.stat().st_size > 10_000


def test_generate_with_an_unknown_family(tmp_path, capsys):
    args = ["generate", "--out", str(tmp_path / "d"), "--families", "teapot", *TINY]
    assert main(args) == 2
    assert "teapot" in _error_line(capsys)


def test_generate_uses_an_open_mesh_and_the_same_part_in_metres(tmp_path, capsys):
    src = tmp_path / "open"
    box = trimesh.creation.box(extents=(40.0, 40.0, 30.0)).subdivide().subdivide()
    top = box.triangles_center
    gap = (top[:, 2] > 14.9) & (np.abs(top[:, 0]) < 5.0) & (np.abs(top[:, 1]) < 5.0)
    src.mkdir()
    trimesh.Trimesh(box.vertices, box.faces[~gap], process=False).export(src / "gap.stl")
    metres = trimesh.creation.box(extents=(0.04, 0.04, 0.03))  # unit-less, numbers in metres
    metres.export(src / "in_metres.stl")
    out = tmp_path / "out"
    assert _generate(out, src, 8) == 0  # --units auto (the default)
    assert "used 2 of 2 mesh files (100%)" in capsys.readouterr().out
    ds = open_dataset(out)
    assert {record["source"] for record in ds.records} == {"gap.stl", "in_metres.stl"}
    pitches = {record["source"]: record["pitch_mm"] for record in ds.records}
    assert pitches["in_metres.stl"] == pytest.approx(pitches["gap.stl"], rel=0.05)  # both 40 mm
