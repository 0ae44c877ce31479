"""Benchmark: train models on one dataset and print a table (parameters, samples/s, test
accuracy, F1, training time), the README's model table.

The dataset is generated first when --data does not exist (procedural parts, --count samples at
--resolution), so the figures come from one command. Every model gets the same epochs, batch
size and learning rate unless given per model as NAME:LR. A model whose test predictions are all
one class is flagged "stuck" (the failure the 2021 study saw).

Run: .venv/bin/python bench/train.py --models fastnet --epochs 10 --batch-size 32 --lr 2e-3
     .venv/bin/python bench/train.py --resolution 32 --data out/bench/d32 \
         --models fastnet vanilla3dcnn resnet_small inception_v1 inception_v3 --epochs 6
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from printability.config import GenerateConfig, TrainConfig, VoxelConfig
from printability.data.generate import generate
from printability.models import MODELS
from printability.train.loop import train


def ensure_dataset(path: Path, count: int, resolution: int) -> None:
    """Generate the default procedural dataset once; later runs reuse it."""
    if not (path / "manifest.csv").exists():
        config = GenerateConfig(count=count, voxel=VoxelConfig(resolution=resolution))
        generate(config, path, workers=2, resume=True)


def model_and_lr(spec: str, default_lr: float) -> tuple[str, float]:
    """'inception_v1:5e-4' -> ('inception_v1', 5e-4); a bare name gets the default LR."""
    name, _, lr = spec.partition(":")
    if name not in MODELS:
        raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return name, float(lr) if lr else default_lr


def is_stuck(confusion: list[list[int]]) -> bool:
    """True when every test sample got the same prediction."""
    (tn, fp), (fn, tp) = confusion
    return tp + fp == 0 or tn + fn == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/d64_4k"))
    parser.add_argument("--count", type=int, default=4000, help="samples if --data is missing")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=["fastnet"], help="NAME or NAME:LR")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-train-samples", type=int, default=None, help="use part of train")
    parser.add_argument("--out", type=Path, default=Path("out/bench/train"))
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs")
    args = parser.parse_args()

    ensure_dataset(args.data, args.count, args.resolution)
    rows = []
    for spec in args.models:
        name, lr = model_and_lr(spec, args.lr)
        config = TrainConfig(
            model=name,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=lr,
            max_train_samples=args.max_train_samples,
        )
        metrics = train(args.data, args.out / name, config=config, resume=args.resume, track=False)
        rows.append(
            {
                "model": name,
                "parameters": metrics["parameters"],
                "samples_per_second": metrics["samples_per_second"],
                "train_seconds": metrics["train_seconds"],
                "epochs": metrics["epochs_run"],
                "lr": lr,
                "test_accuracy": metrics["test"]["accuracy"],
                "test_f1": metrics["test"]["f1"],
                "stuck": is_stuck(metrics["test"]["confusion_matrix"]),
            }
        )
        (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")

    subset = args.max_train_samples
    train_note = f", first {subset} training samples" if subset else ""
    print(f"\ndata {args.data}{train_note}, batch {args.batch_size}")
    print("| model | parameters | samples/s | train s | epochs | LR | test accuracy | test F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        flag = " (stuck on one class)" if r["stuck"] else ""
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['samples_per_second']:.1f} | "
            f"{r['train_seconds']:.0f} | {r['epochs']} | {r['lr']:g} | "
            f"{r['test_accuracy']:.3f}{flag} | {r['test_f1']:.3f} |"
        )


if __name__ == "__main__":
    main()
