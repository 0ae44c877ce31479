"""The command-line tool: parses arguments and calls one library function per subcommand."""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing
from collections.abc import Container, Iterator, Sequence
from dataclasses import Field, fields, replace
from pathlib import Path
from typing import Any

from printability.config import (
    DEFECT_CLASSES,
    DIST_BACKENDS,
    PRESETS,
    UNIT_CHOICES,
    GenerateConfig,
    TrainConfig,
    TuneConfig,
    VoxelConfig,
)
from printability.data.inputs import INPUTS
from printability.inspect.processes import PROCESSES, get_process, with_limits

EXIT_OK, EXIT_USAGE = 0, 2
RESUME_HINTS = {  # what a Ctrl-C leaves behind, per command
    "generate": "finished shards are kept (rerun with --resume)",
    "train": "the last finished epoch is kept (rerun with --resume)",
    "tune": "finished trials are kept in the study (rerun to add more)",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 fine, 2 bad input or usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:  # MeshError is a ValueError; so are bad options
        print(f"printability: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"printability {args.command}: interrupted; {RESUME_HINTS.get(args.command, '')}",
              file=sys.stderr)  # fmt: skip
        return 130


def _parser() -> argparse.ArgumentParser:
    """`printability COMMAND ...`: one subparser per command, each made by its own function."""
    parser = argparse.ArgumentParser(prog="printability", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def _add_generate(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("generate", help="build a labelled, sharded voxel dataset")
    gen.add_argument("--out", required=True, type=Path, help="dataset directory")
    gen.add_argument(
        "--source", default="procedural", help="'procedural' (built-in parts) or a folder of meshes"
    )
    gen.add_argument(
        "--count", type=int, default=1000, help="samples to make (4 classes per base part)"
    )
    gen.add_argument("--resolution", type=int, default=64, help="grid size N (16..256)")
    gen.add_argument(
        "--pitch-mm",
        type=float,
        default=None,
        help="fixed mm per voxel instead of fitting the part to the grid",
    )
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)"
    )
    gen.add_argument("--preset", default="seed2021", choices=sorted(PRESETS))
    gen.add_argument("--max-holes", type=int, default=1, help="holes per defective sample, 1..K")
    gen.add_argument(
        "--radius-factor",
        type=float,
        default=1.25,
        help="printable-radius holes span r_p .. this x r_p (wider: the model sees big holes)",
    )
    gen.add_argument(
        "--units",
        default="auto",
        choices=UNIT_CHOICES,
        help="units of mesh files that do not state them (auto: mm unless that makes a part "
        "under 3 mm across; then metres, inches or cm, the first that makes it 3 mm to 1 m)",
    )
    gen.add_argument(
        "--shard", default="0/1", help="build only part i of N (i/N), for many machines"
    )
    gen.add_argument("--parts-per-shard", type=int, default=64)
    _add_family_options(gen)
    gen.add_argument(
        "--windows",
        type=float,
        default=0.0,
        help="fraction of base parts made as windows cut from a bigger grid, like the windows "
        "check judges on large parts (0..1)",
    )
    gen.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    gen.add_argument("--no-progress", action="store_true", help="no progress bars")
    gen.set_defaults(func=_cmd_generate)


def _add_family_options(gen: argparse.ArgumentParser) -> None:
    """`generate`'s choice of procedural part families, for training and for testing."""
    gen.add_argument(
        "--families",
        nargs="+",
        default=None,
        help="procedural part families to draw from, space- or comma-separated "
        "(default: all; printability parts --list)",
    )
    gen.add_argument(
        "--holdout-families",
        nargs="+",
        default=[],
        help="families whose parts all go to the test split (a leave-families-out evaluation)",
    )


def _add_show(sub: argparse._SubParsersAction) -> None:
    show = sub.add_parser("show", help="render a dataset sample or a mesh file to PNG")
    show.add_argument("path", type=Path, help="a dataset directory or a mesh file")
    show.add_argument(
        "--sample", default=None, help="sample_id or row number (dataset only; default: first)"
    )
    show.add_argument(
        "--defect", default=None, choices=DEFECT_CLASSES, help="show the first sample of this class"
    )
    show.add_argument(
        "--per-class", type=int, default=0, help="a contact sheet with K samples of each class"
    )
    show.add_argument(
        "--per-family",
        type=int,
        default=0,
        help="a contact sheet with K clean base parts of each part family",
    )
    show.add_argument(
        "--out", type=Path, default=None, help="PNG to write (default: <sample or mesh>.png)"
    )
    show.add_argument("--units", default="auto", choices=UNIT_CHOICES)
    show.set_defaults(func=_cmd_show)


def _add_stats(sub: argparse._SubParsersAction) -> None:
    stats = sub.add_parser("stats", help="counts per class and split of a dataset")
    stats.add_argument("path", type=Path)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_cmd_stats)


def _add_merge(sub: argparse._SubParsersAction) -> None:
    merge = sub.add_parser("merge", help="join datasets built with --shard i/N into one")
    merge.add_argument("out", type=Path)
    merge.add_argument("inputs", type=Path, nargs="*", help="shard datasets (default: just OUT)")
    merge.set_defaults(func=_cmd_merge)


def _add_train(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser(
        "train", help="train a 3D CNN on a dataset (torchrun or horovodrun for several processes)"
    )
    tr.add_argument("--data", required=True, type=Path, help="dataset directory")
    tr.add_argument("--out", required=True, type=Path, help="run directory (checkpoints, metrics)")
    tr.add_argument(
        "--config",
        type=Path,
        default=None,
        help="JSON file of TrainConfig fields; the options below override it",
    )
    _add_config_options(tr, TrainConfig, TRAIN_REGISTRIES)
    tr.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    tr.add_argument("--no-mlflow", action="store_true", help="do not track the run in MLflow")
    tr.add_argument("--no-progress", action="store_true", help="no progress bars")
    tr.add_argument(
        "--dist",
        default="auto",
        choices=DIST_BACKENDS,
        help="data-parallel engine: auto (torchrun's if started by torchrun, else one process), "
        "torch, or horovod (under horovodrun; see docs/horovod.md)",
    )
    tr.set_defaults(func=_cmd_train)


class _ModelNames:
    """The model registry's names as argparse `choices`, read when first needed: the registry
    imports torch, which commands that train nothing should not wait for."""

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    @staticmethod
    def _names() -> list[str]:
        from printability.models import MODELS

        return list(MODELS)


TRAIN_REGISTRIES: dict[str, Container[str]] = {"model": _ModelNames(), "input": sorted(INPUTS)}
"""Choices of TrainConfig fields that name an entry of a registry outside config.py."""


def _add_config_options(
    parser: argparse.ArgumentParser, config: type, registries: dict[str, Container[str]]
) -> None:
    """One option per field of the dataclass `config`: `--field-name` (or the field's `flag`),
    its type (a bool as --x/--no-x), choices (the field's, or its registry's) and help. Each
    defaults to None here, so that only the options given override a --config file."""
    types = typing.get_type_hints(config)
    for f in fields(config):
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        kind = _value_type(types[f.name])
        if kind is bool:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, dest=f.name, default=None, action=action, help=_help(f))
            continue
        choices = f.metadata.get("choices") or registries.get(f.name)
        lazy = choices is not None and not isinstance(choices, Sequence)  # see _ModelNames
        metavar = flag[2:].upper().replace("-", "_") if choices is None or lazy else None
        parser.add_argument(flag, dest=f.name, type=kind, default=None, choices=choices,
                            metavar=metavar, help=_help(f, lists_choices=lazy))  # fmt: skip


def _help(f: Field, lists_choices: bool = False) -> str:
    """A config field's help as its option's, with the choices (if the usage line does not show
    them) and the default (a field whose default is None says what None means itself)."""
    notes = ["one of %(choices)s"] if lists_choices else []
    if f.default is not None:
        notes.append(f"default: {f.default}")
    return f.metadata["help"] + (f" ({'; '.join(notes)})" if notes else "")


def _value_type(annotation: Any) -> type:
    """The type an option parses to: `int` for `int` and for `int | None`."""
    kinds = [t for t in typing.get_args(annotation) if t is not type(None)]
    return kinds[0] if kinds else annotation


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "evaluate", help="metrics, plots and an HTML report for checkpoints on a dataset split"
    )
    ev.add_argument(
        "--checkpoint", required=True, type=Path, action="append",
        help="a best.pt or last.pt; repeat to compare models side by side",
    )  # fmt: skip
    ev.add_argument("--data", required=True, type=Path, help="dataset directory")
    ev.add_argument("--split", default="test", choices=("train", "val", "test"))
    ev.add_argument("--out", required=True, type=Path, help="report directory")
    ev.add_argument("--batch-size", type=int, default=64)
    ev.add_argument(
        "--tta", type=int, default=1, help="average over K of the 48 cube symmetries (1 = off)"
    )
    ev.add_argument("--gallery", type=int, default=12, help="renders of the worst K failures")
    ev.add_argument("--no-baseline", action="store_true", help="leave out the rule baseline")
    ev.add_argument("--no-mlflow", action="store_true", help="do not log to the training run")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    ev.set_defaults(func=_cmd_evaluate)


def _add_export(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser("export", help="write a checkpoint as ONNX (dynamic batch size)")
    ex.add_argument("--checkpoint", required=True, type=Path, help="a best.pt or last.pt")
    ex.add_argument("--onnx", required=True, type=Path, help="ONNX file to write")
    ex.add_argument("--opset", type=int, default=None, help="ONNX opset (default: torch's)")
    ex.set_defaults(func=_cmd_export)


def _add_check(sub: argparse._SubParsersAction) -> None:
    ck = sub.add_parser(
        "check", help="is a mesh printable, where is the problem, how big (files or folders)"
    )
    ck.add_argument("paths", type=Path, nargs="+", help="mesh files or folders (recursive)")
    ck.add_argument(
        "--checkpoint", type=Path, default=None, help="a trained model (default: the shipped one)"
    )
    ck.add_argument("--units", default="auto", choices=UNIT_CHOICES,
                    help="units of files that do not state them (auto: mm unless that makes a "
                    "part under 3 mm across; then metres, inches or cm, the first that makes "
                    "it 3 mm to 1 m; the row says so)")  # fmt: skip
    _add_process_options(ck)
    ck.add_argument("--json", action="store_true", help="JSON instead of a table")
    ck.add_argument(
        "--report", type=Path, default=None, help="HTML page: Grad-CAM of the unprintable parts"
    )
    ck.add_argument("--no-explain", action="store_true", help="skip the Grad-CAM location")
    ck.add_argument("--threshold", type=_probability, default=None, metavar="P",
                    help="P(printable) under which the network objects (default: the "
                    "process's, calibrated on plain parts)")  # fmt: skip
    ck.add_argument("--all-windows", action="store_true",
                    help="judge every window of a large part, not only where rays find a thin "
                    "wall or a narrow gap (slower)")  # fmt: skip
    ck.add_argument("--no-progress", action="store_true", help="no progress bars")
    ck.set_defaults(func=_cmd_check)


def _add_process_options(ck: argparse.ArgumentParser) -> None:
    """`check`'s printing process, its limits and the grid pitch that follows from them."""
    ck.add_argument("--process", default="fdm", choices=sorted(PROCESSES),
                    help="the process whose minimum wall and hole apply")  # fmt: skip
    ck.add_argument("--min-wall", type=float, default=None, metavar="MM",
                    help="your own thinnest printable wall, in place of the process's")  # fmt: skip
    ck.add_argument("--min-hole", type=float, default=None, metavar="MM",
                    help="your own smallest printable hole diameter")  # fmt: skip
    ck.add_argument(
        "--pitch", default="auto", type=_pitch,
        help="auto (default): fit the part to the model's grid unless a voxel would be thicker "
        "than the process's thinnest wall, then the process's pitch in overlapping windows; "
        "fit; process; or mm per voxel",
    )  # fmt: skip


def _add_samples(sub: argparse._SubParsersAction) -> None:
    sa = sub.add_parser("samples", help="write example STL parts with known answers (for check)")
    sa.add_argument("--out", type=Path, required=True, help="folder for the STL files")
    sa.set_defaults(func=_cmd_samples)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    se = sub.add_parser("serve", help="a local web page to check a part (and a JSON endpoint)")
    se.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: this machine only)")  # fmt: skip
    se.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    se.add_argument("--max-upload-mb", type=float, default=100.0,
                    help="largest mesh upload, in MB (default: 100)")  # fmt: skip
    se.set_defaults(func=_cmd_serve)


def _add_tune(sub: argparse._SubParsersAction) -> None:
    tu = sub.add_parser(
        "tune", help="search hyperparameters with Optuna (one study shared by many processes)"
    )
    tu.add_argument("--data", required=True, type=Path, help="dataset directory")
    tu.add_argument("--trials", type=int, default=20, help="trials to add to the study")
    tu.add_argument(
        "--storage", default=None, help="study storage URL (default sqlite:///optuna.db here)"
    )
    tu.add_argument("--study", default="printability", help="study name (reused if it exists)")
    tu.add_argument("--timeout", type=float, default=None, help="stop new trials after S seconds")
    tu.add_argument("--epochs", type=int, default=6, help="epochs per trial")
    tu.add_argument(
        "--models",
        nargs="+",
        default=["distnet"],
        help="models to search, by name, space- or comma-separated (default distnet)",
    )
    tu.add_argument(
        "--input",
        default=None,
        choices=sorted(INPUTS),
        help="what every trial's network reads (default: each model's own)",
    )
    tu.add_argument(
        "--max-train-samples",
        type=int,
        default=None,
        help="train each trial on the first N training samples (quick studies)",
    )
    tu.add_argument(
        "--out",
        type=Path,
        default=None,
        help="trial runs, plots, best_config.json (default runs/tune/STUDY)",
    )
    tu.add_argument("--seed", type=int, default=None, help="sampler and training seed")
    tu.add_argument(
        "--config", type=Path, default=None, help="JSON file of fixed TrainConfig fields"
    )
    tu.add_argument("--no-mlflow", action="store_true", help="do not track the trials in MLflow")
    tu.add_argument("--progress", action="store_true", help="progress bars per epoch")
    tu.set_defaults(func=_cmd_tune)


def _add_models(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list the networks with parameter counts")
    models.set_defaults(func=_cmd_models)


def _add_parts(sub: argparse._SubParsersAction) -> None:
    parts = sub.add_parser("parts", help="write procedural base parts as STL files")
    parts.add_argument("--out", type=Path, default=None, help="folder for the STL files")
    parts.add_argument("--count", type=int, default=8, help="parts per family (with --kind)")
    parts.add_argument("--seed", type=int, default=0)
    parts.add_argument(
        "--kind", nargs="+", default=None, help="only these families (default: a random mix)"
    )
    parts.add_argument("--list", action="store_true", help="list the part families and stop")
    parts.set_defaults(func=_cmd_parts)


COMMANDS = (_add_generate, _add_show, _add_stats, _add_merge, _add_train, _add_evaluate,
            _add_export, _add_check, _add_samples, _add_serve, _add_tune, _add_models,
            _add_parts)  # fmt: skip
"""The subcommands in the order `printability --help` lists them."""


def _names(groups: Sequence[str]) -> tuple[str, ...]:
    """Names given space- or comma-separated (`--models a,b c`), in order, without blanks."""
    return tuple(n.strip() for group in groups for n in group.split(",") if n.strip())


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/N, got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard {text}: need 0 <= i < N")
    return i, n


def _cmd_generate(args: argparse.Namespace) -> int:
    from printability.data.generate import generate

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if not 0 <= args.windows <= 1:
        raise ValueError(f"--windows is a share of the parts, 0..1, got {args.windows:g}")
    config = GenerateConfig(
        source=args.source,
        count=args.count,
        seed=args.seed,
        preset=args.preset,
        max_holes=args.max_holes,
        radius_factor=args.radius_factor,
        units=args.units,
        parts_per_shard=args.parts_per_shard,
        families=_names(args.families) if args.families else None,
        holdout_families=_names(args.holdout_families),
        window_fraction=args.windows,
        voxel=VoxelConfig(resolution=args.resolution, pitch_mm=args.pitch_mm),
    )
    if config.source != "procedural" and not Path(config.source).is_dir():
        raise ValueError(f"{config.source}: --source must be 'procedural' or a folder of meshes")
    summary = generate(
        config,
        out=args.out,
        workers=args.workers,
        shard=_parse_shard(args.shard),
        resume=args.resume,
        progress=not args.no_progress,
    )
    print(format_summary(summary))
    if summary["dropped_parts"] and summary["samples_made"] == 0:
        return EXIT_USAGE
    return EXIT_OK


def format_summary(summary: dict) -> str:
    """The closing report of a generate run, as a few readable lines."""
    lines = [
        f"made {summary['samples_made']} samples in {summary['seconds']} s "
        f"({summary['samples_per_second']} samples/s, {summary['workers']} workers)",
    ]
    if summary.get("skipped_shards"):
        lines.append(f"resumed: {summary['skipped_shards']} shards were already done")
    lines.append(_counts_table(summary))
    if summary["rejected_placements"]:
        lines.append(
            "rejected hole placements: "
            + ", ".join(f"{k}: {v}" for k, v in summary["rejected_placements"].items())
        )
    tried = summary.get("parts_tried", 0)
    if tried:
        what = "mesh files" if summary.get("source_files") else "base parts"
        share = 100 * summary["parts_used"] / tried
        lines.append(f"used {summary['parts_used']} of {tried} {what} ({share:.0f}%)")
        if summary.get("source_files"):  # why the rest were not, without the file names
            for cause, n in list(summary.get("drop_causes", {}).items())[:8]:
                lines.append(f"  not used: {cause} (x{n})")
    dropped = summary["dropped_parts"]
    if dropped:
        lines.append(f"dropped base parts ({sum(dropped.values())}):")
        for reason, n in list(dropped.items())[:20]:
            lines.append(f"  {reason} (x{n})" if n > 1 else f"  {reason}")
        if len(dropped) > 20:
            lines.append(f"  ... and {len(dropped) - 20} more reasons, see summary.json")
    if "manifest" in summary:
        lines.append(f"manifest: {summary['manifest']}")
    else:
        lines.append("some shards are still missing: finish them, then run `printability merge`")
    return "\n".join(lines)


def _counts_table(counts: dict) -> str:
    classes = list(counts["by_class"])
    header = f"{'split':<7}" + "".join(f"{c:>16}" for c in classes) + f"{'total':>9}"
    rows = [header]
    for split, per_class in counts["by_split_and_class"].items():
        rows.append(
            f"{split:<7}"
            + "".join(f"{per_class[c]:>16}" for c in classes)
            + f"{sum(per_class.values()):>9}"
        )
    rows.append(
        f"{'all':<7}"
        + "".join(f"{counts['by_class'][c]:>16}" for c in classes)
        + f"{counts['total_samples']:>9}"
    )
    return "\n".join(rows) + f"\n{counts['groups']} base parts"


def _cmd_stats(args: argparse.Namespace) -> int:
    from printability.data.generate import dataset_counts
    from printability.data.store import missing_shards, read_info

    info = read_info(args.path)
    counts = dataset_counts(args.path)
    counts["missing_shards"] = len(missing_shards(args.path))
    counts["resolution"] = info["resolution"]
    counts["thresholds"] = info["thresholds"]
    counts["disk_mb"] = round(
        sum(p.stat().st_size for p in Path(args.path).rglob("*") if p.is_file()) / 1e6, 2
    )
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        th = info["thresholds"]
        print(
            f"{args.path}: {counts['total_samples']} samples at {info['resolution']}^3, "
            f"{counts['disk_mb']} MB"
        )
        print(
            f"thresholds (voxels): r_p {th['r_p']:g}, r_np {th['r_np']:g}, "
            f"b_p {th['b_p']:g}, b_np {th['b_np']:g}"
        )
        print(_counts_table(counts))
        if counts["missing_shards"]:
            print(f"{counts['missing_shards']} shards missing")
    return EXIT_OK


def _cmd_merge(args: argparse.Namespace) -> int:
    from printability.data.store import merge

    n = merge(args.out, inputs=args.inputs or [args.out])
    print(f"{args.out}: {n} samples")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from printability import render

    if not args.path.exists():
        raise FileNotFoundError(f"{args.path}: no such file or folder")
    if args.path.is_dir():
        from printability.data import open_dataset

        ds = open_dataset(args.path)
        if len(ds) == 0:
            raise ValueError(f"{args.path}: dataset has no samples")
        if args.per_family > 0:
            picks = _per_family(ds, args.per_family)
            out = args.out or Path("families.png")
            render.render_grid(
                [ds[i] for i in picks],
                out_png=out,
                columns=max(args.per_family, 5),
                caption="part_kind",
            )
        elif args.per_class > 0:
            picks = [i for c in DEFECT_CLASSES for i in _indices_of(ds, c)[: args.per_class]]
            out = args.out or Path("samples.png")
            render.render_grid([ds[i] for i in picks], out_png=out, columns=args.per_class)
        else:
            index = _sample_index(ds, args.sample, args.defect)
            voxels, record = ds[index]
            out = args.out or Path(f"{record['sample_id']}.png")
            thin = ds.defect_mask(index) if record.get("defect") == "thin_wall" else None
            render.render_sample(voxels, record=record, out_png=out,
                                 thresholds=ds.info.get("thresholds"), thin_wall=thin)  # fmt: skip
    else:
        from printability.geometry.mesh_io import load_and_repair

        mesh = load_and_repair(args.path, units=args.units)
        out = args.out or Path(args.path.with_suffix(".png").name)
        render.render_mesh(mesh, out_png=out, title=args.path.name)
    print(out)
    return EXIT_OK


def _per_family(ds, k: int) -> list[int]:
    """Up to k clean (no_defect) samples of each part family in the dataset, family by family."""
    picks: dict[str, list[int]] = {}
    for i, r in enumerate(ds.records):
        if r["defect"] == "no_defect" and len(picks.setdefault(r["part_kind"], [])) < k:
            picks[r["part_kind"]].append(i)
    return [i for kind in sorted(picks) for i in picks[kind]]


def _indices_of(ds, defect: str) -> list[int]:
    return [i for i, r in enumerate(ds.records) if r["defect"] == defect]


def _sample_index(ds, sample: str | None, defect: str | None) -> int:
    if defect is not None:
        found = _indices_of(ds, defect)
        if not found:
            raise ValueError(f"no {defect} sample in dataset")
        return found[0]
    if sample is None:
        return 0
    if sample.isdigit() and int(sample) < len(ds):
        return int(sample)
    for i, record in enumerate(ds.records):
        if record["sample_id"] == sample:
            return i
    raise ValueError(f"no sample {sample!r} in dataset")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """--config FILE first, then any option given on the command line on top of it."""
    values = json.loads(args.config.read_text()) if args.config else {}
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    values.update({name: value for name, value in given.items() if value is not None})
    return TrainConfig.from_dict(values)


def _cmd_train(args: argparse.Namespace) -> int:
    from printability.models import MODELS
    from printability.train.loop import train

    config = train_config_from_args(args)
    if config.model not in MODELS:  # a --config file's model: --model has its choices
        raise ValueError(f"unknown model {config.model!r}; choose from {', '.join(MODELS)}")
    train(
        args.data,
        args.out,
        config=config,
        resume=args.resume,
        track=not args.no_mlflow,
        progress=not args.no_progress,
        dist=args.dist,
    )
    return EXIT_OK


def _cmd_tune(args: argparse.Namespace) -> int:
    from printability.tune import format_summary, tune

    base = TrainConfig.from_dict(json.loads(args.config.read_text())) if args.config else None
    if args.input:
        base = replace(base or TrainConfig(), input=args.input)
    settings = TuneConfig(
        trials=args.trials,
        storage=args.storage,
        study_name=args.study,
        epochs=args.epochs,
        timeout=args.timeout,
        models=_names(args.models),
        seed=args.seed,
        max_train_samples=args.max_train_samples,
    )
    summary = tune(
        args.data,
        args.out,
        settings=settings,
        base=base,
        track=not args.no_mlflow,
        progress=args.progress,
    )
    print(format_summary(summary))
    return 130 if summary["interrupted"] else EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from printability.evaluate.evaluation import evaluate

    metrics = evaluate(
        args.checkpoint, data=args.data, out=args.out, split=args.split,
        baseline=not args.no_baseline, batch_size=args.batch_size, tta=args.tta,
        gallery=args.gallery, track=not args.no_mlflow, progress=not args.no_progress,
    )  # fmt: skip
    from printability.evaluate.report import headline_text

    for name, m in metrics["models"].items():
        print(
            f"{name}: accuracy {m['accuracy']:.4f} f1 {m['f1']:.4f} roc_auc {m['roc_auc']:.4f} "
            f"ece {m['ece']:.4f} ({m['samples_per_second']:.0f} samples/s)"
        )
    print(headline_text(metrics))
    print(f"report: {args.out / 'report.html'}")
    return EXIT_OK


def _pitch(text: str) -> str | float:
    """`check --pitch`: a mode name or a positive number of mm per voxel."""
    from printability.inspect.windows import PITCH_MODES, validate_pitch

    try:
        value = text if text in PITCH_MODES else float(text)
        validate_pitch(value)
    except ValueError:
        modes = ", ".join(PITCH_MODES)
        raise argparse.ArgumentTypeError(
            f"{text!r}: use {modes} or a positive number of mm"
        ) from None
    return value


def _probability(text: str) -> float:
    """An argparse type: a probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: use a probability between 0 and 1")
    return value


def _cmd_check(args: argparse.Namespace) -> int:
    from printability.inspect.check import Checker, exit_code, format_table, to_json

    process = get_process(args.process)
    process = with_limits(process, min_wall_mm=args.min_wall, min_hole_mm=args.min_hole)
    checker = Checker(
        args.checkpoint, process=process, units=args.units,
        explain=not args.no_explain or args.report is not None, keep_maps=args.report is not None,
        pitch=args.pitch, screen=not args.all_windows, threshold=args.threshold,
    )  # fmt: skip
    results = checker.check_paths(args.paths, progress=not args.no_progress and not args.json)
    if not results:
        raise ValueError(f"no mesh files in {', '.join(map(str, args.paths))}")
    print(to_json(results) if args.json else format_table(results))
    if args.report:
        from printability.inspect.report import write_check_report

        report = write_check_report(results, path=args.report)
        print(f"report: {report}", file=sys.stderr if args.json else sys.stdout)
    for r in results:
        if r.error and not args.json:
            print(f"printability: error: {r.error}", file=sys.stderr)
    return exit_code(results)


def _cmd_export(args: argparse.Namespace) -> int:
    from printability.inspect.export import export_onnx

    print(export_onnx(args.checkpoint, out_path=args.onnx, opset=args.opset))
    return EXIT_OK


def _cmd_samples(args: argparse.Namespace) -> int:
    from printability.inspect.samples import EXAMPLES, write_examples

    for path, (name, (_, _, printable)) in zip(write_examples(args.out), EXAMPLES.items(),
                                               strict=True):  # fmt: skip
        print(f"{path}  ({name}: {'printable' if printable else 'not printable'})")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from printability.serve import serve

    print(f"printability: the page is at http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    serve(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb)
    return EXIT_OK


def _cmd_models(args: argparse.Namespace) -> int:
    from printability.models import MODELS, count_parameters, create_model

    print(f"{'model':<14}{'parameters':>12}{'2021 study':>12}  {'input':<18}description")
    for name, spec in MODELS.items():
        count = count_parameters(create_model(name))
        seed = f"{spec.seed_parameters / 1e6:.2f}M" if spec.seed_parameters else "-"
        print(f"{name:<14}{count:>12,}{seed:>12}  {spec.input:<18}{spec.description}")
    print("inputs (train --input NAME), made from an N^3 voxel grid:")
    for name, spec in INPUTS.items():
        side = "N" if spec.downsample == 1 else f"N/{spec.downsample}"
        print(f"  {name:<18}(B, {spec.channels}, {side}, {side}, {side})  {spec.description}")
    print("any cubic N (global pooling before the head); output: one logit per sample")
    return EXIT_OK


def _cmd_parts(args: argparse.Namespace) -> int:
    from printability.data.generate import write_part_stl
    from printability.geometry.parts import part_descriptions

    if args.list:
        for name, text in part_descriptions().items():
            print(f"{name:<14}{text}")
        return EXIT_OK
    if args.out is None:
        raise ValueError("parts: --out FOLDER is required (or --list)")
    args.out.mkdir(parents=True, exist_ok=True)
    config = GenerateConfig(seed=args.seed)
    kinds = _names(args.kind) if args.kind else (None,)
    for kind in kinds:
        for i in range(args.count):
            path = args.out / f"{kind or 'part'}-{i:04d}.stl"
            write_part_stl(config, index=i, path=path, kind=kind)
            print(path)
    return EXIT_OK
