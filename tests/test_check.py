"""`printability check` on meshes whose answer is known: boxes with and without holes, in STL,
OBJ and PLY, and a folder of broken files next to a good one (the shipped model is used)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from printability.cli import main
from printability.inspect.check import Checker, exit_code, format_table, to_json
from printability.inspect.samples import BOX_MM, box_with_hole, write_examples


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    write_examples(folder / "examples")
    box_with_hole().export(folder / "plain.stl")
    box_with_hole().export(folder / "plain.obj")
    box_with_hole(radius=5).export(folder / "wide_hole.ply")
    box_with_hole(radius=1.2).export(folder / "narrow_hole.stl")
    box_with_hole(radius=5, offset_y=14).export(folder / "thin_wall.stl")  # a 1 mm wall at y=20
    return folder


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()  # the shipped model, FDM limits


@pytest.mark.parametrize("name", ["plain.stl", "plain.obj", "wide_hole.ply"])
def test_good_parts_are_printable(checker, parts, name):
    result = checker.check_file(parts / name)
    assert result.error is None and result.printable and result.probability > 0.9
    assert result.size_mm == pytest.approx(sorted(BOX_MM, reverse=True), abs=0.01)


def test_a_narrow_hole_is_not_printable_and_measured_in_mm(checker, parts):
    result = checker.check_file(parts / "narrow_hole.stl")
    assert not result.printable and result.probability < 0.5
    assert result.hole_measured_on == "mesh"  # found by the rules, measured by chords
    assert result.min_hole_diameter_mm == pytest.approx(2.4, abs=0.02)  # 2.4 mm drilled
    start, end = np.array(result.hole_span_mm)  # the chord measured: across the hole's axis
    assert np.linalg.norm(end - start) == pytest.approx(result.min_hole_diameter_mm, abs=0.01)
    assert np.hypot(*start[:2]) == pytest.approx(1.2, abs=0.02)
    assert "hole_span_mm" in result.to_dict() and "mesh" not in result.to_dict()
    x, y, _ = result.suspect_mm  # the box is centred on the origin, 20 mm side along z
    assert np.hypot(x, y) < 2 * 1.2 + 2 * result.pitch_mm  # within 2r of the hole's axis


def test_a_thin_wall_is_not_printable_and_found_where_it_is(checker, parts):
    result = checker.check_file(parts / "thin_wall.stl")
    assert not result.printable and result.probability < 0.5
    assert result.wall_measured_on == "mesh"  # found by the rules, measured by rays
    assert result.min_wall_mm == pytest.approx(1.0, abs=0.05)  # 1 mm drilled
    assert result.problems == ["wall 1.01 mm < 1.2 mm"]
    _, y, _ = result.suspect_mm
    assert y > 14  # between the hole (axis at y=14) and the face at y=20
    assert 18 < result.wall_at_mm[1] < 20.5  # the rules' place: on the wall
    start, end = np.array(result.wall_span_mm)  # the ray measured: from the hole to the face
    assert sorted([start[1], end[1]]) == pytest.approx([19.0, 20.0], abs=0.02)


def test_a_folder_with_broken_files_reports_each_and_judges_the_rest(parts, tmp_path, capsys):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "empty.stl").write_bytes(b"")
    (folder / "corrupt.stl").write_bytes(b"\x00\x01binary garbage" * 7)
    (folder / "sub" / "notes.stl").write_text("this is a text file, not a mesh\n")
    open_box = box_with_hole()
    open_box.update_faces(np.arange(len(open_box.faces)) >= 4)  # too big a gap to repair
    open_box.export(folder / "open.stl")
    (folder / "sub" / "good.stl").write_bytes((parts / "plain.stl").read_bytes())
    code = main(["check", str(folder), "--json", "--no-explain"])
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert code == 2
    assert set(rows) == {"empty.stl", "corrupt.stl", "notes.stl", "open.stl", "good.stl"}
    for name in ("empty.stl", "corrupt.stl", "notes.stl", "open.stl"):
        row = rows[name]
        assert row["error"] and name in row["error"] and row["printable"] is None
    assert rows["good.stl"]["error"] is None and rows["good.stl"]["printable"] is True


def test_json_shape_exit_codes_and_table(parts, capsys):
    code = main(["check", str(parts / "plain.stl"), str(parts / "thin_wall.stl"), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 1  # one part is not printable
    for row in rows:
        assert {"file", "printable", "probability", "error", "suspect_mm", "min_wall_mm"} <= set(
            row
        )
    assert [r["printable"] for r in rows] == [True, False]
    assert main(["check", str(parts / "plain.stl"), "--no-explain"]) == 0
    table = capsys.readouterr().out
    assert "plain.stl" in table and "printable" in table and "P(print)" in table


def test_a_metres_file_is_read_as_metres_and_the_row_says_so(tmp_path):
    path = tmp_path / "link.stl"
    box = trimesh.creation.box(extents=(0.06, 0.04, 0.02))  # a 60 mm part, in metres
    box.export(str(path))
    row = Checker(explain=False).check_file(path)
    assert row.error is None and row.units == "m" and row.units_assumed == "m"
    assert max(row.size_mm) == pytest.approx(60.0, rel=1e-6)
    assert "read as m: as mm it would be 0.06 mm across" in format_table([row])
    assert json.loads(to_json([row]))[0]["units_assumed"] == "m"
    as_mm = Checker(units="mm", explain=False).check_file(path)  # an explicit unit wins
    assert as_mm.units_assumed is None and max(as_mm.size_mm) == pytest.approx(0.06, rel=1e-6)
    assert "are the units right" in format_table([as_mm])


def test_units_and_process_limits(parts):
    inches = Checker(units="inch", explain=False).check_file(parts / "plain.stl")
    assert inches.size_mm == pytest.approx([25.4 * v for v in sorted(BOX_MM, reverse=True)])
    fdm = Checker(process="fdm", explain=False).check_file(parts / "narrow_hole.stl")
    sla = Checker(process="sla", explain=False).check_file(parts / "narrow_hole.stl")
    assert (fdm.hole_limit_mm, sla.hole_limit_mm) == (2.0, 0.5)
    assert exit_code([fdm]) == 1


def test_bad_usage_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.stl"), "--no-explain"]) == 2
    assert "missing.stl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["check", str(tmp_path), "--process", "laser-cutter"])
    assert stop.value.code == 2
    assert main(["check", str(tmp_path)]) == 2  # an empty folder: nothing to check


def test_the_example_parts_get_their_expected_verdicts(checker, parts):
    from printability.inspect.samples import EXAMPLES

    for name, (_, _, printable) in EXAMPLES.items():
        assert checker.check_file(parts / "examples" / f"{name}.stl").printable is printable, name


def test_report_shows_a_heatmap_for_each_unprintable_part(parts, tmp_path, capsys):
    report = tmp_path / "check.html"
    code = main(["check", str(parts / "examples"), "--report", str(report), "--no-progress"])
    assert code == 1 and report.exists()
    page = report.read_text()
    assert page.count("<img") == 4  # slices and 3D for narrow_hole and thin_wall; not the others
    assert "narrow_hole.stl: not printable" in page and "thin_wall.stl: not printable" in page
    assert "plain_box.stl" in page and "http" not in page  # self-contained


def test_the_shipped_onnx_model_is_the_shipped_checkpoint(parts):
    """check judges with assets/distnet64.onnx and explains with assets/distnet64.pt: they must
    be the same network (re-export after replacing the .pt). Logits in fp32 on the example
    parts and on random grids, whose logits are far from saturated."""
    import torch

    from printability.data.inputs import model_input
    from printability.inspect.check import DEFAULT_CHECKPOINT, DEFAULT_ONNX
    from printability.inspect.runtime import OnnxNetwork, TorchNetwork

    onnx, torch_net = OnnxNetwork(DEFAULT_ONNX), TorchNetwork(DEFAULT_CHECKPOINT)
    assert onnx.data == torch_net.data
    assert onnx.input_name == torch_net.input_name == "distance_quarter"
    checker = Checker(DEFAULT_CHECKPOINT, explain=False)
    grids = [checker.voxel_grid(parts / n, checker.check_file(parts / n))[0]
             for n in ("plain.stl", "narrow_hole.stl")]  # fmt: skip
    rng = np.random.default_rng(0)
    grids += [rng.random(grids[0].shape) < f for f in (0.2, 0.5)]
    x = np.stack([model_input(g, onnx.input_name) for g in grids])
    (onnx_logits,) = onnx.session.run(["logit"], {onnx.feed_name: x})
    with torch.no_grad():
        torch_logits = torch_net.model(torch.from_numpy(x)).numpy()
    assert np.allclose(onnx_logits, torch_logits, atol=1e-3)


def test_an_onnx_checkpoint_alone_gives_a_verdict_and_a_location(parts, tmp_path):
    import shutil

    from printability.inspect.check import DEFAULT_ONNX

    alone = shutil.copy(DEFAULT_ONNX, tmp_path / "model.onnx")  # no .pt beside it
    result = Checker(alone).check_file(parts / "narrow_hole.stl")
    assert result.network_printable is False and result.suspect_mm is not None


def test_parts_are_checked_and_explained_without_importing_torch(parts):
    """Importing torch is over a second: the verdict and its Grad-CAM come from the shipped
    ONNX export (bench/check.py times the whole command)."""
    import subprocess
    import sys

    code = (
        "import sys; from printability.inspect.check import Checker; "
        f"a, b = Checker().check_paths([{str(parts / 'plain.stl')!r}, "
        f"{str(parts / 'thin_wall.stl')!r}], progress=False); "
        "print(a.printable, b.printable, b.suspect_mm is not None, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True", "False"]


def test_the_onnx_grad_cam_is_torchs_and_locates_the_same_spot(parts):
    """The shipped .onnx carries DistNet's Grad-CAM (gradcam.DistNetWithCam): check explains
    without torch, and the map and the location match torch's Grad-CAM on the .pt."""
    from printability.data.inputs import model_input
    from printability.inspect.check import DEFAULT_CHECKPOINT, DEFAULT_ONNX
    from printability.inspect.gradcam import grad_cam
    from printability.inspect.heat import heat_from_cam
    from printability.inspect.runtime import OnnxNetwork

    checker = Checker(DEFAULT_CHECKPOINT)
    assert isinstance(Checker().network, OnnxNetwork) and Checker().network.has_cam
    solid = checker.voxel_grid(parts / "thin_wall.stl", checker.check_file(parts / "plain.stl"))[0]
    onnx = OnnxNetwork(DEFAULT_ONNX)
    _, cams = onnx.run([model_input(solid, onnx.input_name)])
    expected = grad_cam(checker.explainer, solid, input_name=onnx.input_name)
    assert np.allclose(heat_from_cam(cams[0], 64), expected, atol=1e-4)
    for name in ("narrow_hole.stl", "thin_wall.stl"):
        from_onnx = Checker().check_file(parts / name).suspect_mm
        from_torch = checker.check_file(parts / name).suspect_mm
        assert np.allclose(from_onnx, from_torch, atol=0.05), name


def test_your_own_limits_replace_the_process_table(parts, capsys):
    path = str(parts / "narrow_hole.stl")  # a 2.4 mm hole, measured 2.02 mm at 0.71 mm voxels
    assert main(["check", path, "--json", "--no-explain", "--min-hole", "1.0"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["hole_limit_mm"], row["wall_limit_mm"]) == (1.0, 1.2)  # wall: FDM's
    assert not any(p.startswith("hole") for p in row["problems"])  # clear of 1.0 mm
    assert main(["check", path, "--min-wall", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "minimum wall" in err[0]


def test_the_network_threshold_is_the_processes_unless_given(parts):
    from printability.inspect.processes import get_process

    row = Checker(explain=False).check_file(parts / "plain.stl")
    assert row.network_threshold == get_process("fdm").network_threshold and row.network_printable
    above = (row.probability + 1.0) / 2  # a threshold above this part's P(printable)
    strict = Checker(explain=False, threshold=above).check_file(parts / "plain.stl")
    assert strict.network_threshold == above and strict.network_printable is False
    assert strict.printable is False and "network says not printable" in format_table([strict])


@pytest.mark.parametrize("value", ["0", "1", "1.5", "x"])
def test_a_bad_threshold_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "x.stl", "--threshold", value])
    assert info.value.code == 2
    assert "probability between 0 and 1" in capsys.readouterr().err
