"""The generation pipeline: base parts -> voxels -> four defect variants -> shards on disk.

Each base part i is made from its own random stream seeded by (seed, i, attempt), so results do
not depend on the number of workers or machines. Parts are grouped into shards of
`parts_per_shard`; `--shard i/N` builds every N-th shard, and `resume` skips shards already on
disk. A base part yields one sample of each class, or none (its reason is counted), so classes
stay balanced.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh
from tqdm import tqdm

from printability.config import DEFECT_CLASSES, PRINTABLE_CLASSES, GenerateConfig, VoxelConfig
from printability.data import store
from printability.data.defects import (
    DefectFailed,
    DefectSample,
    Material,
    defect_mask,
    make_defect,
)
from printability.data.inputs import DEFAULT_INPUT, check_grid, encode_input
from printability.data.windows import (
    Window,
    cut_window,
    is_window_part,
    window_voxel_config,
)
from printability.errors import MeshError
from printability.geometry.measure import base_part_problems
from printability.geometry.mesh_io import find_meshes, load_and_repair
from printability.geometry.normalize import place_in_grid
from printability.geometry.parts import (
    FAMILY_KINDS,
    PART_KINDS,
    PartLimits,
    design_minimums,
    make_part,
)
from printability.geometry.select import file_size_reason, mesh_reason
from printability.geometry.voxelize import voxelize, voxelize_at_pitch

PART_ATTEMPTS = 8  # fresh base parts tried for one index before it is dropped
MESH_ATTEMPTS = 2  # fresh defect draws per way a mesh is used (fitted, zoomed)
ZOOM_RANGE = (2.0, 4.0)  # how much finer than fitted a zoomed mesh is voxelized


@dataclass
class PartOutcome:
    """What one base-part index produced: packed samples with rows, or the reason it has none."""

    index: int
    packed: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    inputs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    rejects: Counter = field(default_factory=Counter)
    dropped: str | None = None


@dataclass
class BasePart:
    """A voxelized base part and what the manifest says about it."""

    solid: np.ndarray
    group: str
    source: str
    pitch_mm: float
    kind: str
    params: dict
    window: bool = False  # stored as N^3 windows cut around each defect (data/windows.py)


def plan(config: GenerateConfig, n_files: int = 0) -> tuple[int, int]:
    """Number of base parts and of shards the config asks for; from a folder, each mesh file
    is one base part at most (more would repeat its no_defect sample)."""
    n_parts = math.ceil(config.count / len(DEFECT_CLASSES))
    if n_files:
        n_parts = min(n_parts, n_files)
    return n_parts, math.ceil(n_parts / config.parts_per_shard)


def stored_inputs(config: GenerateConfig) -> tuple[str, ...]:
    """The network inputs a dataset stores beside its voxels: the default model's, when the grid
    divides into its blocks (others are computed from the voxels when a model asks for them)."""
    try:
        check_grid(DEFAULT_INPUT, (config.voxel.resolution,) * 3)
    except ValueError:
        return ()
    return (DEFAULT_INPUT,)


def split_for(group: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """train/val/test by a hash of the group, so every variant of a base part shares a split."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def part_limits(config: GenerateConfig, voxel: VoxelConfig | None = None) -> PartLimits:
    """Feature limits in mm that keep procedural parts printable at this grid, with margin:
    the config's thresholds in voxels, at the pitch of `voxel` (default the config's grid; a
    window part's bigger grid keeps the thresholds of the network's grid)."""
    vox = config.voxel if voxel is None else voxel
    span = vox.resolution - 2 * vox.margin
    pitch = vox.pitch_mm if vox.pitch_mm is not None else 100.0 / span
    th = config.thresholds
    return PartLimits(
        min_wall_mm=(th.b_p + 1) * pitch,
        min_hole_radius_mm=(th.r_p + 1) * pitch,
        size_mm=span * pitch,
    )


class PartRejected(Exception):
    """A procedural part that would break its limits once placed in the grid; try another."""


def part_families(config: GenerateConfig) -> tuple[str, ...]:
    """The procedural families a config draws from, checked by name."""
    families = config.families or PART_KINDS
    unknown = sorted(set(families) - set(PART_KINDS) | set(config.holdout_families) - set(families))
    if unknown:
        raise ValueError(
            f"unknown or unused part families: {', '.join(unknown)}; "
            f"choose from {', '.join(families)} (printability parts --list)"
        )
    return tuple(families)


def family_of(index: int, config: GenerateConfig) -> str:
    """The family of procedural base part `index`: the families in turn, so each has its share
    whichever parts fail and are tried again."""
    families = part_families(config)
    return families[index % len(families)]


def procedural_base(index: int, config: GenerateConfig, rng: np.random.Generator) -> BasePart:
    """A built-in part, printable at the pitch it actually gets: CAD kinds by construction,
    free-form families by the voxel check of base_part_problems.

    Alignment can turn a part (an L bracket, say) so that its box grows and the fit shrinks
    it; such a part is rejected if its walls or holes would fall under the limits in voxels."""
    voxel, limits, source = config.voxel, part_limits(config), "procedural"
    if is_window_part(index, config):
        voxel = window_voxel_config(config, rng)
        limits, source = part_limits(config, voxel), "window"
    mesh, params = make_part(rng, limits, family_of(index, config))
    if source == "window":
        params["window_grid"] = voxel.resolution
    try:
        solid, placement = voxelize(mesh, voxel)
    except ValueError:  # fixed pitch: the aligned part does not fit the grid
        raise PartRejected("part larger than the grid once aligned") from None
    wall_mm, hole_mm = design_minimums(limits)
    th = config.thresholds
    if hole_mm / placement.pitch_mm < th.r_p + 0.5 or wall_mm / placement.pitch_mm < th.b_p + 0.5:
        raise PartRejected("part features under the limits once aligned and fitted")
    if params["kind"] in FAMILY_KINDS:
        problems = base_part_problems(solid, th)
        if problems:
            raise PartRejected(f"{params['kind']}: " + "; ".join(problems))
    group = f"part-{index:07d}"
    window = source == "window"
    return BasePart(solid, group, source, placement.pitch_mm, params["kind"], params, window)


def load_folder_mesh(path: Path, config: GenerateConfig) -> trimesh.Trimesh:
    """A user's mesh, selected and repaired; MeshError says why it cannot be used."""
    reason = file_size_reason(path, config.select)
    if reason:
        raise MeshError(path, reason)
    mesh = load_and_repair(path, config.units)
    reason = mesh_reason(mesh, config.select)
    if reason:
        raise MeshError(path, reason)
    return mesh


def folder_base(
    path: Path,
    root: Path,
    config: GenerateConfig,
    mesh: trimesh.Trimesh | None = None,
    zoomed: bool = False,
) -> BasePart:
    """A user's mesh as a base part, printable as it is at its pitch, else MeshError says why.

    Fitted to the grid as a procedural part is; or, `zoomed`, voxelized ZOOM_RANGE times finer
    (by the ratio of its two longest extents) into a grid sized to it, to be cut into windows:
    a slender link or a thin-walled part then has room for holes and walls in voxels."""
    mesh = load_folder_mesh(path, config) if mesh is None else mesh
    try:
        fit = place_in_grid(mesh, config.voxel)
        if zoomed:
            extents = np.sort(np.ptp(fit.to_voxels(mesh.vertices), axis=0))[::-1]
            zoom = float(np.clip(extents[0] / max(extents[1], 1e-9), *ZOOM_RANGE))
            solid, placement = voxelize_at_pitch(mesh, fit.pitch_mm / zoom, like=fit)
        else:
            solid, placement = voxelize(mesh, config.voxel, fit)
    except ValueError as exc:
        raise MeshError(path, str(exc)) from None
    where = f"at {placement.pitch_mm:.3g} mm/voxel"
    if not solid.any():
        raise MeshError(path, f"thinner than one voxel everywhere {where}")
    problems = base_part_problems(solid, config.thresholds)
    if problems:
        raise MeshError(path, f"not printable as it is {where}: " + "; ".join(problems))
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    params = {"file": rel, "faces": len(mesh.faces)}
    if zoomed:
        params["window_grid"] = list(solid.shape)
    return BasePart(solid, rel, rel, placement.pitch_mm, "mesh", params, zoomed)


def make_part_samples(
    index: int, config: GenerateConfig, files: list[Path], root: Path | None
) -> PartOutcome:
    """All four classes from base part `index`, else the reason it gave none is recorded. A
    procedural part is drawn afresh a few times; a mesh from a folder is tried fitted to the
    grid, then zoomed in and cut into windows (`folder_base`)."""
    if files:
        return _mesh_samples(index, config, files[index], root)
    outcome = PartOutcome(index)
    for attempt in range(PART_ATTEMPTS):
        rng = np.random.default_rng([config.seed, index, attempt])
        try:
            base = procedural_base(index, config, rng)
        except PartRejected as exc:
            outcome.rejects[str(exc)] += 1
            outcome.dropped = str(exc)
            continue
        if _add_samples(outcome, base, config, rng):
            return outcome
    return outcome


def _mesh_samples(index: int, config: GenerateConfig, path: Path, root: Path) -> PartOutcome:
    """make_part_samples for a mesh file: fitted, then zoomed (not with a fixed pitch)."""
    outcome = PartOutcome(index)
    try:
        mesh = load_folder_mesh(path, config)
    except MeshError as exc:
        outcome.dropped = str(exc)  # names the file
        return outcome
    ways = (False,) if config.voxel.pitch_mm is not None else (False, True)
    attempt = 0
    for zoomed in ways:
        try:
            base = folder_base(path, root, config, mesh, zoomed)
        except MeshError as exc:
            outcome.dropped = str(exc)
            continue
        for _ in range(MESH_ATTEMPTS):
            rng = np.random.default_rng([config.seed, index, attempt])
            attempt += 1
            if _add_samples(outcome, base, config, rng):
                return outcome
    return outcome


def _add_samples(
    outcome: PartOutcome, base: BasePart, config: GenerateConfig, rng: np.random.Generator
) -> bool:
    """Carve the three defects into `base` and add its four samples to `outcome`; False (and
    the reason in `outcome`) when a defect finds no placement."""
    th = config.thresholds
    material = Material.of(base.solid)  # shared by the three defects
    try:
        samples = [DefectSample(base.solid, "no_defect")]
        for target in DEFECT_CLASSES[1:]:
            samples.append(
                make_defect(
                    base.solid,
                    target,
                    th,
                    rng,
                    config.max_holes,
                    config.max_tries,
                    config.radius_factor,
                    material,
                )  # fmt: skip
            )
    except DefectFailed as exc:
        outcome.rejects.update(exc.reasons)
        outcome.dropped = f"no {exc.target} placement in {config.max_tries} tries"
        if base.kind == "mesh":
            outcome.dropped = f"{base.source}: {outcome.dropped}"
        return False
    outcome.dropped = None
    if base.kind in config.holdout_families:
        split = "test"
    else:
        split = split_for(base.group, config.seed, config.split_fractions)
    for sample in samples:
        outcome.rejects.update(sample.rejects)
        window = _sample_window(sample, base, config, rng)
        outcome.packed.append(store.pack_voxels(window.voxels))
        outcome.masks.append(store.pack_voxels(window.mask))
        for name, codes in window.inputs.items():
            outcome.inputs.setdefault(name, []).append(codes)
        outcome.rows.append(_record(sample, base, outcome.index, split, config, window.shift))
    return True


def _sample_window(
    sample: DefectSample, base: BasePart, config: GenerateConfig, rng: np.random.Generator
) -> Window:
    """What is stored of a sample: the whole grid, or for a window part one N^3 window cut
    around its defect."""
    mask = defect_mask(sample, base.solid)
    names = stored_inputs(config)
    if not base.window:
        inputs = {name: encode_input(sample.voxels, name) for name in names}
        return Window(sample.voxels, mask, inputs, np.zeros(3))
    carved = base.solid & ~sample.voxels
    size = config.voxel.resolution
    return cut_window(sample.voxels, mask, carved, size, names, DEFAULT_INPUT, rng)


def _record(
    sample: DefectSample,
    base: BasePart,
    index: int,
    split: str,
    config: GenerateConfig,
    shift: np.ndarray,
) -> dict:
    """The manifest row of one sample; `shift` maps its hole's position into the stored grid."""
    row = {
        "sample_id": f"{index:07d}-{sample.defect}",
        "group": base.group,
        "split": split,
        "label": int(sample.defect in PRINTABLE_CLASSES),
        "defect": sample.defect,
        "resolution": config.voxel.resolution,
        "source": base.source,
        "pitch_mm": base.pitch_mm,
        "seed": config.seed,
        "part_index": index,
        "n_holes": len(sample.holes),
        "part_kind": base.kind,
        "part_params": base.params,
        "shard": index // config.parts_per_shard,
    }
    if sample.holes:
        # the hole that decides the label: the first one (the target defect)
        hole, m = sample.holes[0], sample.measurements[0]
        row["hole_radius_vox"] = hole.radius
        row["wall_vox"] = m.wall_vox
        if np.isfinite(m.thin_extent_vox):
            row["thin_extent_vox"] = m.thin_extent_vox
        if len(sample.holes) == 1:
            for a, c, d in zip("xyz", m.midpoint + shift, hole.axis, strict=True):
                row[f"hole_center_{a}"] = float(c)
                row[f"hole_axis_{a}"] = float(d)
    return row


# --- running many parts ------------------------------------------------------------------------

_WORKER_STATE: dict = {}


def _init_worker(config: GenerateConfig, files: list[Path], root: Path | None) -> None:
    _WORKER_STATE.update(config=config, files=files, root=root)


def _work(index: int) -> PartOutcome:
    """One part; an unexpected error is recorded for that part, and the batch goes on."""
    s = _WORKER_STATE
    try:
        return make_part_samples(index, s["config"], s["files"], s["root"])
    except Exception as exc:
        where = f"{s['files'][index]}: " if s["files"] else f"part {index}: "
        return PartOutcome(index, dropped=f"{where}{type(exc).__name__}: {exc}")


def generate(
    config: GenerateConfig,
    out: str | Path,
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Build (or finish, with resume) the dataset in `out`; returns the run summary."""
    out = Path(out)
    files, root = _source_files(config)
    if not files:
        _check_parts_fit(config)
    n_parts, n_shards = plan(config, len(files))
    info = {
        "format_version": store.FORMAT_VERSION,
        "config": config.to_dict(),
        "resolution": config.voxel.resolution,
        "thresholds": config.thresholds.__dict__,
        "inputs": list(stored_inputs(config)),
        "n_parts": n_parts,
        "n_shards": n_shards,
    }
    shard_i, shard_n = shard
    _prepare_out(out, info, resume or shard_n > 1)
    done = set(store.completed_shards(out))
    todo = [k for k in range(n_shards) if k % shard_n == shard_i and k not in done]
    indices = [
        i
        for k in todo
        for i in range(k * config.parts_per_shard, min(n_parts, (k + 1) * config.parts_per_shard))
    ]
    summary = _run(config, out, files, root, indices, workers, progress)
    summary["skipped_shards"] = len([k for k in done if k % shard_n == shard_i])
    if not store.missing_shards(out):
        store.write_manifest(out)
        summary["manifest"] = str(out / "manifest.csv")
    summary.update(dataset_counts(out))
    store.atomic_write_json(
        out / f"summary-{shard_i}-of-{shard_n}.json" if shard_n > 1 else out / "summary.json",
        summary,
    )
    return summary


def _check_parts_fit(config: GenerateConfig) -> None:
    """Fail before touching the disk if procedural parts cannot honour the limits at this grid."""
    part_families(config)
    try:
        make_part(np.random.default_rng(0), part_limits(config), PART_KINDS[0])
    except ValueError:
        raise ValueError(
            f"procedural parts cannot keep walls of {config.thresholds.b_p:g} and holes of "
            f"{config.thresholds.r_p:g} voxels printable in a {config.voxel.resolution}^3 grid; "
            "use a larger --resolution"
        ) from None


def _source_files(config: GenerateConfig) -> tuple[list[Path], Path | None]:
    if config.source == "procedural":
        return [], None
    root = Path(config.source)
    files = find_meshes(root)
    if not files:
        raise MeshError(root, "no mesh files (stl, obj, ply, off, 3mf, glb, gltf) in folder")
    return files, root


def _without_units(config: dict | None) -> dict | None:
    """A procedural config without its `units`, which only mesh files use (the default
    changed from mm to auto, and built-in parts are the same either way)."""
    if config is None or config.get("source") != "procedural":
        return config
    return {k: v for k, v in config.items() if k != "units"}


def _prepare_out(out: Path, info: dict, resume: bool) -> None:
    """Create `out`, or check that an existing dataset there was made with the same config
    (`resume` is True for a finishing run and for `--shard` jobs sharing one folder)."""
    existing = out / "dataset.json"
    if existing.exists():
        old = store.read_info(out)
        if not resume:
            raise FileExistsError(
                f"{out}: already holds a dataset; "
                "pass --resume to finish it or choose another --out"
            )
        stored = old.get("config")
        if stored is not None:  # options added since it was made take their defaults
            stored = GenerateConfig.from_dict(stored).to_dict()
        if stored != info["config"] and _without_units(stored) != _without_units(info["config"]):
            raise ValueError(
                f"{out}: holds a dataset made with other options; --resume needs the same ones"
            )
    out.mkdir(parents=True, exist_ok=True)
    store.atomic_write_json(existing, info)


def _run(
    config: GenerateConfig,
    out: Path,
    files: list[Path],
    root: Path | None,
    indices: list[int],
    workers: int,
    progress: bool,
) -> dict:
    """Make the parts in `indices`, writing each shard as soon as all its parts are in."""
    per_shard: dict[int, list[PartOutcome]] = {}
    expected = Counter(i // config.parts_per_shard for i in indices)
    rejects: Counter = Counter()
    dropped: Counter = Counter()
    causes: Counter = Counter()  # the drop reasons without file names, for a folder's yield
    used = 0
    made = 0
    start = time.perf_counter()
    bar = tqdm(
        total=len(indices) * len(DEFECT_CLASSES),
        unit="sample",
        disable=not progress,
        desc="generate",
    )
    with _outcomes(config, files, root, indices, workers) as outcomes:
        for outcome in outcomes:
            rejects.update(outcome.rejects)
            if outcome.dropped:
                dropped[outcome.dropped] += 1
                causes[drop_cause(outcome.dropped) if files else outcome.dropped] += 1
            used += bool(outcome.rows)
            made += len(outcome.rows)
            bar.update(len(DEFECT_CLASSES))
            k = outcome.index // config.parts_per_shard
            per_shard.setdefault(k, []).append(outcome)
            if len(per_shard[k]) == expected[k]:
                parts = sorted(per_shard.pop(k), key=lambda o: o.index)
                store.write_shard(
                    out,
                    k,
                    [p for o in parts for p in o.packed],
                    [r for o in parts for r in o.rows],
                    masks=[m for o in parts for m in o.masks],
                    inputs={
                        name: [c for o in parts for c in o.inputs.get(name, [])]
                        for name in stored_inputs(config)
                    },
                )
    bar.close()
    seconds = time.perf_counter() - start
    return {
        "samples_made": made,
        "seconds": round(seconds, 2),
        "samples_per_second": round(made / seconds, 2) if seconds > 0 else None,
        "workers": workers,
        "source_files": bool(files),
        "rejected_placements": dict(rejects.most_common()),
        "dropped_parts": dict(dropped.most_common()),
        "parts_used": used,
        "parts_tried": len(indices),
        "drop_causes": dict(causes.most_common()),
    }


@contextmanager
def _outcomes(
    config: GenerateConfig, files: list[Path], root: Path | None, indices: list[int], workers: int
) -> Iterator[Iterator[PartOutcome]]:
    """PartOutcomes in index order, made in this process or by a pool of `workers`."""
    if workers <= 1:
        _init_worker(config, files, root)
        yield map(_work, indices)
        return
    with mp.get_context("forkserver").Pool(workers, _init_worker, (config, files, root)) as pool:
        yield pool.imap(_work, indices, chunksize=1)


def drop_cause(dropped: str) -> str:
    """Why a mesh file was not used, without its name and the figures that vary per file (its
    pitch, its count of open edges), so that files dropped for one reason count together."""
    cause = dropped.split(": ", 1)[-1]
    cause = re.sub(r" at [\d.e+-]+ mm/voxel", "", cause)
    return re.sub(r" \([^()]*boundary edges[^()]*\)", "", cause)


def dataset_counts(out: Path) -> dict:
    """Samples per class and split over every shard now on disk."""
    rows = [r for i in store.completed_shards(out) for r in store.read_shard_rows(out, i)]
    by_class = Counter(r["defect"] for r in rows)
    by_split = Counter(r["split"] for r in rows)
    table = Counter((r["split"], r["defect"]) for r in rows)
    return {
        "total_samples": len(rows),
        "by_class": {c: by_class.get(c, 0) for c in DEFECT_CLASSES},
        "by_split": {s: by_split.get(s, 0) for s in ("train", "val", "test")},
        "by_split_and_class": {
            s: {c: table.get((s, c), 0) for c in DEFECT_CLASSES} for s in ("train", "val", "test")
        },
        "groups": len({r["group"] for r in rows}),
    }


def write_part_stl(
    config: GenerateConfig, index: int, path: str | Path, kind: str | None = None
) -> trimesh.Trimesh:
    """Write procedural base part `index` (attempt 0, of `kind` or one of the config's
    families) as an STL, for users and tests."""
    rng = np.random.default_rng([config.seed, index, 0])
    mesh, _ = make_part(rng, part_limits(config), kind, kinds=part_families(config))
    mesh.export(str(path))
    return mesh
