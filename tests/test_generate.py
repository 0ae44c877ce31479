"""The generation pipeline end to end at a tiny resolution: determinism, resume, splits, store."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from printability.config import DEFECT_CLASSES, GenerateConfig, VoxelConfig
from printability.data import open_dataset
from printability.data.generate import generate
from printability.data.store import MANIFEST_COLUMNS, completed_shards, merge

TINY = dict(count=24, seed=7, parts_per_shard=2, voxel=VoxelConfig(resolution=32))


def read_all(path: Path) -> tuple[list[dict], np.ndarray]:
    ds = open_dataset(path)
    items = [ds[i] for i in range(len(ds))]
    return [r for _, r in items], np.stack([v for v, _ in items])


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "tiny"
    generate(GenerateConfig(**TINY), out, workers=1, progress=False)
    return out


def test_dataset_contract(tiny_dataset):
    ds = open_dataset(tiny_dataset)
    assert len(ds) == 24
    voxels, record = ds[5]
    assert voxels.shape == (32, 32, 32) and voxels.dtype == bool
    assert set(MANIFEST_COLUMNS) <= set(record)
    assert record["resolution"] == 32 and record["pitch_mm"] > 0
    header = (tiny_dataset / "manifest.csv").read_text().splitlines()[0].split(",")
    assert header == list(MANIFEST_COLUMNS)


def test_classes_balanced_and_labels_match(tiny_dataset):
    records, voxels = read_all(tiny_dataset)
    counts = {c: sum(r["defect"] == c for r in records) for c in DEFECT_CLASSES}
    assert set(counts.values()) == {6}
    for r in records:
        assert r["label"] == int(r["defect"] in ("no_defect", "printable_hole"))
        if r["defect"] == "no_defect":
            assert r["n_holes"] == 0 and np.isnan(r["wall_vox"])
        else:
            assert r["n_holes"] == 1
            assert np.isclose(np.linalg.norm([r[f"hole_axis_{a}"] for a in "xyz"]), 1, atol=1e-4)


def test_defects_only_remove_material_from_their_base_part(tiny_dataset):
    records, voxels = read_all(tiny_dataset)
    by_part: dict[int, dict[str, np.ndarray]] = {}
    for r, v in zip(records, voxels, strict=True):
        by_part.setdefault(r["part_index"], {})[r["defect"]] = v
    for variants in by_part.values():
        base = variants["no_defect"]
        for defect in DEFECT_CLASSES[1:]:
            assert not (variants[defect] & ~base).any()
            assert (base & ~variants[defect]).any()


def test_no_base_part_in_two_splits(tmp_path):
    out = tmp_path / "splits"
    generate(GenerateConfig(**{**TINY, "count": 80}), out, workers=1, progress=False)
    records, _ = read_all(out)
    split_of: dict[str, set] = {}
    for r in records:
        split_of.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    assert {"train"} <= set.union(*split_of.values())


def test_same_seed_same_data_whatever_the_workers(tmp_path, tiny_dataset):
    out = tmp_path / "two_workers"
    generate(GenerateConfig(**TINY), out, workers=2, progress=False)
    assert (out / "manifest.csv").read_bytes() == (tiny_dataset / "manifest.csv").read_bytes()
    assert np.array_equal(read_all(out)[1], read_all(tiny_dataset)[1])


def test_other_seed_other_data(tmp_path, tiny_dataset):
    out = tmp_path / "seed8"
    generate(GenerateConfig(**{**TINY, "seed": 8}), out, workers=1, progress=False)
    assert not np.array_equal(read_all(out)[1], read_all(tiny_dataset)[1])


def test_shards_built_apart_merge_into_the_same_dataset(tmp_path, tiny_dataset):
    parts = [tmp_path / f"s{i}" for i in range(3)]
    for i, path in enumerate(parts):
        summary = generate(GenerateConfig(**TINY), path, workers=1, shard=(i, 3), progress=False)
        assert "manifest" not in summary  # incomplete on its own
    assert merge(tmp_path / "merged", parts) == 24
    merged = tmp_path / "merged"
    assert (merged / "manifest.csv").read_bytes() == (tiny_dataset / "manifest.csv").read_bytes()


def test_existing_dataset_needs_resume(tmp_path, tiny_dataset):
    with pytest.raises(FileExistsError):
        generate(GenerateConfig(**TINY), tiny_dataset, workers=1, progress=False)
    with pytest.raises(ValueError, match="other options"):
        generate(
            GenerateConfig(**{**TINY, "seed": 1}),
            tiny_dataset,
            workers=1,
            progress=False,
            resume=True,
        )


def test_resume_after_kill_mid_run(tmp_path, tiny_dataset):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "printability", "generate", "--out", str(out), "--count", "24",
           "--seed", "7", "--parts-per-shard", "2", "--resolution", "32", "--workers", "1",
           "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while len(completed_shards(out)) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = completed_shards(out)
    assert 1 <= len(done_before) < 3, "the run should have been killed part-way"
    (out / "shards" / ".shard-00002.npz.tmp-999").write_bytes(b"torn")  # as a crash leaves it
    subprocess.run([*cmd, "--resume"], check=True, stdout=subprocess.DEVNULL)
    assert (out / "manifest.csv").read_bytes() == (tiny_dataset / "manifest.csv").read_bytes()
    assert np.array_equal(read_all(out)[1], read_all(tiny_dataset)[1])


def test_fixed_pitch_records_the_pitch(tmp_path):
    config = GenerateConfig(count=8, seed=3, voxel=VoxelConfig(resolution=48, pitch_mm=2.0))
    generate(config, tmp_path / "pitch", workers=1, progress=False)
    records, voxels = read_all(tmp_path / "pitch")
    assert len(records) == 8
    assert all(r["pitch_mm"] == 2.0 for r in records)
    assert voxels.any(axis=(1, 2, 3)).all()


def test_folder_mesh_that_is_not_printable_is_never_no_defect(tmp_path):
    """A mesh too thin at the fitted pitch is used zoomed in, cut into windows, where its
    walls are printable in voxels; one too thin even there is not used, and the reason says so."""
    import json

    import trimesh

    source = tmp_path / "meshes"
    source.mkdir()
    trimesh.creation.box((60.0, 50.0, 40.0)).export(source / "block.stl")
    trimesh.creation.box((60.0, 50.0, 4.0)).export(source / "sheet.stl")  # 2.4 voxels thick
    trimesh.creation.box((60.0, 50.0, 0.5)).export(source / "foil.stl")  # under one voxel
    config = GenerateConfig(source=str(source), count=40, seed=1, voxel=VoxelConfig(resolution=40))
    summary = generate(config, tmp_path / "out", workers=1, progress=False)
    records, voxels = read_all(tmp_path / "out")
    assert sorted({r["source"] for r in records}) == ["block.stl", "sheet.stl"]
    assert len(records) == 8  # one base part per file, four classes
    sheet = [r for r in records if r["source"] == "sheet.stl"]
    block = [r for r in records if r["source"] == "block.stl"]
    assert sheet[0]["pitch_mm"] <= block[0]["pitch_mm"] / 2  # zoomed in
    assert "window_grid" in json.loads(sheet[0]["part_params"])
    assert "window_grid" not in json.loads(block[0]["part_params"])
    assert voxels.shape[1:] == (40, 40, 40)
    dropped = list(summary["dropped_parts"])
    assert any("foil.stl" in reason and "thin" in reason for reason in dropped)
    assert summary["parts_used"] == 2 and summary["parts_tried"] == 3


def test_manifest_hole_recarves_the_exact_voxels(tiny_dataset):
    from printability.geometry.measure import Hole, hole_mask

    records, voxels = read_all(tiny_dataset)
    twins = {r["part_index"]: v for r, v in zip(records, voxels, strict=True) if r["n_holes"] == 0}
    for r, v in zip(records, voxels, strict=True):
        if r["n_holes"] == 1:
            centre = np.array([r[f"hole_center_{a}"] for a in "xyz"])
            axis = np.array([r[f"hole_axis_{a}"] for a in "xyz"])
            hole = Hole(centre, axis, r["hole_radius_vox"])
            base = twins[r["part_index"]]
            assert np.array_equal(v, base & ~hole_mask(base.shape, hole)), r["sample_id"]


def test_several_holes_keep_the_defect_first(tmp_path):
    from printability.config import get_preset
    from printability.data.defects import classify_hole
    from printability.geometry.measure import WallMeasurement

    config = GenerateConfig(count=40, seed=2, max_holes=3, voxel=VoxelConfig(resolution=48))
    generate(config, tmp_path / "multi", workers=1, progress=False)
    records, _ = read_all(tmp_path / "multi")
    th = get_preset("seed2021").at_resolution(48)
    assert any(r["n_holes"] > 1 for r in records)
    for r in records:
        if r["n_holes"]:
            m = WallMeasurement(r["wall_vox"], False, 1.0, np.zeros(3))
            assert classify_hole(r["hole_radius_vox"], m, th)[0] == r["defect"]


def test_shard_jobs_can_share_one_folder(tmp_path, tiny_dataset):
    shared = tmp_path / "shared"
    for i in range(2):
        generate(GenerateConfig(**TINY), shared, workers=1, shard=(i, 2), progress=False)
    assert merge(shared, [shared]) == 24
    assert (shared / "manifest.csv").read_bytes() == (tiny_dataset / "manifest.csv").read_bytes()


def test_procedural_features_stay_above_the_limits_at_the_real_pitch():
    from printability.data.generate import PartRejected, part_limits, procedural_base
    from printability.geometry.parts import design_minimums

    config = GenerateConfig(voxel=VoxelConfig(resolution=64))
    th = config.thresholds
    wall_mm, hole_mm = design_minimums(part_limits(config))
    accepted = rejected = 0
    for index in range(40):
        try:
            base = procedural_base(index, config, np.random.default_rng([0, index, 0]))
        except PartRejected:
            rejected += 1
            continue
        accepted += 1
        assert hole_mm / base.pitch_mm >= th.r_p and wall_mm / base.pitch_mm >= th.b_p
        for hole in base.params["holes"]:
            assert hole["radius"] / base.pitch_mm >= th.r_p
    assert accepted >= 25  # most parts keep their limits


def test_resume_accepts_a_dataset_made_before_an_option_existed(tmp_path, tiny_dataset):
    import json
    import shutil

    old = shutil.copytree(tiny_dataset, tmp_path / "old")
    info = json.loads((old / "dataset.json").read_text())
    del info["config"]["radius_factor"]  # as datasets made before --radius-factor have it
    (old / "dataset.json").write_text(json.dumps(info))
    generate(GenerateConfig(**TINY), old, workers=1, progress=False, resume=True)  # no error
    with pytest.raises(ValueError, match="other options"):
        generate(GenerateConfig(**{**TINY, "radius_factor": 2.0}), old, workers=1,
                 progress=False, resume=True)  # fmt: skip


def test_resume_accepts_built_in_parts_made_when_units_defaulted_to_mm(tmp_path, tiny_dataset):
    import json
    import shutil

    old = shutil.copytree(tiny_dataset, tmp_path / "old")
    info = json.loads((old / "dataset.json").read_text())
    info["config"]["units"] = "mm"  # the default before --units auto; no file is read
    (old / "dataset.json").write_text(json.dumps(info))
    generate(GenerateConfig(**TINY), old, workers=1, progress=False, resume=True)  # no error


def test_stored_inputs_masks_and_thin_patches(tiny_dataset):
    """Every sample carries its network input (the default model's, as encode_input makes it
    from the voxels), its defect mask (the hole's material for a small hole, the thin wall's
    for a thin wall, none for printable samples), and thin walls a patch of thin rays."""
    from printability.config import get_preset
    from printability.data.defects import thin_patch_min
    from printability.data.inputs import DEFAULT_INPUT, encode_input

    ds = open_dataset(tiny_dataset)
    assert ds.stored_inputs == (DEFAULT_INPUT,)
    th = get_preset("seed2021").at_resolution(32)
    for i, record in enumerate(ds.records):
        voxels, _ = ds[i]
        np.testing.assert_array_equal(ds.input_codes(i, DEFAULT_INPUT),
                                      encode_input(voxels, DEFAULT_INPUT))  # fmt: skip
        mask = ds.defect_mask(i)
        assert not (mask & ~voxels).any() or record["defect"] == "small_hole"
        assert mask.any() == (record["label"] == 0), record["sample_id"]
        if record["defect"] == "thin_wall":
            assert record["thin_extent_vox"] >= thin_patch_min(th)
        assert sorted(map(tuple, ds.defect_voxels(i))) == sorted(map(tuple, np.argwhere(mask)))


def test_rejections_of_parts_that_succeed_are_counted(tiny_dataset):
    import json

    summary = json.loads((tiny_dataset / "summary.json").read_text())
    assert summary["dropped_parts"] == {}  # every part gave its four samples
    assert sum(summary["rejected_placements"].values()) > 0  # after some rejected tries


def test_an_older_dataset_format_is_refused(tiny_dataset, tmp_path):
    import json
    import shutil

    old = shutil.copytree(tiny_dataset, tmp_path / "old")
    info = json.loads((old / "dataset.json").read_text())
    info["format_version"] = 2
    (old / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="format 2.*generate it again"):
        open_dataset(old)


def test_held_out_families_go_only_to_the_test_split(tmp_path):
    families = ("plate", "shell", "blob")
    config = GenerateConfig(**{**TINY, "count": 48}, families=families, holdout_families=("blob",))
    generate(config, tmp_path / "held", workers=1, progress=False)
    records, _ = read_all(tmp_path / "held")
    kinds = {r["part_kind"] for r in records}
    assert kinds == set(families)  # the families are drawn in turn
    assert {r["split"] for r in records if r["part_kind"] == "blob"} == {"test"}
    assert "train" in {r["split"] for r in records if r["part_kind"] != "blob"}
    assert GenerateConfig.from_dict(config.to_dict()) == config


def test_unknown_or_unused_families_are_refused(tmp_path):
    with pytest.raises(ValueError, match="teapot"):
        generate(GenerateConfig(**TINY, families=("plate", "teapot")), tmp_path / "a")
    with pytest.raises(ValueError, match="blob"):
        generate(
            GenerateConfig(**TINY, families=("plate",), holdout_families=("blob",)),
            tmp_path / "b",
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_drop_causes_count_files_dropped_for_one_reason_together():
    from printability.data.generate import drop_cause

    sheet = "not a solid: an open surface"
    assert drop_cause(f"x/a.stl: {sheet} (openings 50% of its area, 64 boundary edges)") == sheet
    assert drop_cause(f"b.stl: {sheet} (openings 12% of its area, 3 boundary edges)") == sheet
    assert (
        drop_cause("c.stl: not printable as it is at 6.95 mm/voxel: wall thinner than 4 voxels")
        == "not printable as it is: wall thinner than 4 voxels"
    )
    assert drop_cause("d.stl: no thin_wall placement in 80 tries") == (
        "no thin_wall placement in 80 tries"
    )
