"""Benchmark: the 2021 study's four networks and the default model, trained and evaluated on one
dataset with one command, in one table beside the study's own figures.

Each network is trained with `printability train`'s recipe (AdamW, warm-up and cosine decay,
cube symmetries, bf16 where native, the defect-location loss; for the study's four, their large
kernels centre-weighted at the start and trained at a rate scaled to their fan-in) on the input
it reads by default, the default model's `distance_quarter`, or on `--input occupancy` (the
study's own input); then `printability
evaluate` scores every checkpoint and the rule baseline on the same test split. A run that
answers one class for every test sample is marked stuck. Finished runs are reused, unfinished
ones resume from their last epoch, so the bench can be stopped and started again.

The dataset is generated first when --data does not exist (the default procedural parts,
`--count` samples at `--resolution`^3).

Run: .venv/bin/python bench/seed_networks.py --data D [--models vanilla3dcnn inception_v1]
     .venv/bin/python bench/seed_networks.py --data D --input occupancy --resolution 64 \
         --epochs 60 --workers 8 --out out/bench/seed_networks_gpu   (the study's input, GPU)
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from printability.config import GenerateConfig, TrainConfig, VoxelConfig
from printability.data.generate import generate
from printability.models import DEFAULT_MODEL, MODELS

SEED_NETWORKS = ("vanilla3dcnn", "resnet_small", "inception_v1", "inception_v3")
CPU_EPOCHS = {
    "distnet": 25,
    "vanilla3dcnn": 15,
    "resnet_small": 15,
    "inception_v1": 15,
    "inception_v3": 12,
}
"""Epochs per network on a 2-core CPU: each run stays within about 20 minutes there."""


def run_config(model: str, args: argparse.Namespace) -> TrainConfig:
    """The training recipe of one network: TrainConfig's defaults, this bench's options."""
    config = replace(
        TrainConfig(),
        model=model,
        input=args.input,
        epochs=args.epochs or CPU_EPOCHS.get(model, TrainConfig().epochs),
        seed=args.seed,
        max_train_samples=args.max_train_samples,
    )
    if args.batch_size:
        config = replace(config, batch_size=args.batch_size)
    if args.workers is not None:
        config = replace(config, num_workers=args.workers)
    return config


def train_all(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Train every network of --models (reusing finished runs); their metrics.json by name."""
    from printability.train.loop import train  # after generation: torch not needed for it

    runs = {}
    for model in args.models:
        run = args.out / model
        done = run / "metrics.json"
        if done.exists():
            print(f"{model}: reusing {done}")
        else:
            print(f"{model}: training into {run}", flush=True)
            train(args.data, run, config=run_config(model, args), resume=True,
                  track=False, progress=args.progress)  # fmt: skip
        runs[model] = json.loads(done.read_text())
    return runs


def table(args, runs: dict[str, dict], report: dict[str, Any]) -> list[str]:
    """The markdown table: one row per network, then the rules."""
    rows = [
        "| model | parameters | input | train samples/s | epochs | train s | test accuracy | F1 "
        "| ROC AUC | stuck | 2021 study |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    evaluated = list(report["models"].values())
    for (model, run), scores in zip(runs.items(), evaluated, strict=False):
        spec = MODELS[model]
        stuck = scores.get("predicts_one_class")
        rows.append(
            f"| {model} | {run['parameters']:,} | {run_config(model, args).input or spec.input} "
            f"| {run['samples_per_second']:.0f} | {run['epochs_run']} "
            f"| {run['train_seconds']:.0f} | {scores['accuracy']:.4f} | {scores['f1']:.4f} "
            f"| {scores['roc_auc']:.4f} | {'yes: says ' + stuck if stuck else 'no'} "
            f"| {spec.seed_result or '-'} |"
        )
    rules = report["models"].get("rules")
    if rules:
        rows.append(
            f"| rules | - | voxel grid | - | - | - | {rules['accuracy']:.4f} | {rules['f1']:.4f} "
            f"| {rules['roc_auc']:.4f} | - | - |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/d64_4k"))
    parser.add_argument("--count", type=int, default=4000, help="samples if --data is missing")
    parser.add_argument("--resolution", type=int, default=64, help="grid if --data is missing")
    parser.add_argument("--models", nargs="+", default=[*SEED_NETWORKS, DEFAULT_MODEL])
    parser.add_argument(
        "--input", default=None, help="what every network reads (default: each model's own)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="default: CPU_EPOCHS per model")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (GPU: 8)")
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/bench/seed_networks"))
    parser.add_argument("--progress", action="store_true", help="progress bars per epoch")
    args = parser.parse_args()
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown models {', '.join(unknown)}; choose from {', '.join(MODELS)}")

    if not (args.data / "manifest.csv").exists():
        voxel = VoxelConfig(resolution=args.resolution)
        generate(GenerateConfig(count=args.count, voxel=voxel), args.data, workers=2, resume=True)
    runs = train_all(args)

    from printability.evaluate.evaluation import evaluate

    report = evaluate(
        [args.out / model / "best.pt" for model in runs],
        args.data,
        args.out / "report",
        gallery=0,
        track=False,
        progress=False,
    )
    rows = table(args, runs, report)
    text = "\n".join(rows)
    print(f"\n{args.data}, test split, seed {args.seed}\n{text}")
    (args.out / "table.md").write_text(text + "\n")
    print(f"wrote {args.out / 'table.md'} and the report {args.out / 'report' / 'report.html'}")


if __name__ == "__main__":
    main()
