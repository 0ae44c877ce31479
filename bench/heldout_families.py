"""Benchmark: does the default model judge part families it never saw, and windows of large
parts as well as whole ones? A dataset is made with some families held out (all their parts go
to the test split) and a share of window parts (data/windows.py); the default model is trained
on the rest, and it, any --compare checkpoints and the rule baseline are scored on the test
split per family, and per kind of sample (whole part fitted to the grid, or window).

The dataset is generated first when --data does not exist, so the figures come from one
command. Target: >= 0.98 accuracy on every held-out family, with the model ahead of the rules
on the held-out families together.

Run: .venv/bin/python bench/heldout_families.py [--data out/bench/holdout] [--epochs 25]
     [--checkpoint RUN/best.pt: score it instead of training] [--compare OTHER.pt ...]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from printability.config import GenerateConfig, TrainConfig
from printability.data.generate import generate
from printability.data.store import read_info
from printability.evaluate.evaluation import evaluate

HELD_OUT = ("blob", "frame", "pipe", "revolution", "t_bracket")


def accuracy(rows: list[dict], column: str) -> float:
    """Accuracy of the probabilities in `column` (threshold 0.5) over `rows`."""
    right = sum((float(r[column]) >= 0.5) == (r["label"] == "1") for r in rows)
    return right / len(rows) if rows else float("nan")


def table(groups: dict[str, list[dict]], columns: dict[str, str], held: set[str]) -> None:
    """A markdown table: one row per group, its size, and each model's accuracy."""
    print(f"| group | held out | test samples | {' | '.join(columns)} |")
    print(f"| --- | --- | ---: | {' | '.join('---:' for _ in columns)} |")
    for name, rows in groups.items():
        cells = " | ".join(f"{accuracy(rows, c):.4f}" for c in columns.values())
        mark = "yes" if name in held or name.startswith("held") else "no"
        print(f"| {name} | {mark} | {len(rows)} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/holdout"))
    parser.add_argument("--count", type=int, default=12000, help="samples if --data is missing")
    parser.add_argument("--holdout", nargs="+", default=list(HELD_OUT))
    parser.add_argument("--windows", type=float, default=0.25, help="window parts' share")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--width", type=float, default=None, help="default: TrainConfig's")
    parser.add_argument("--checkpoint", type=Path, default=None, help="score this, no training")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="more checkpoints")
    parser.add_argument("--tta", type=int, default=1, help="cube symmetries averaged (1..48)")
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--out", type=Path, default=Path("out/bench/heldout_families"))
    args = parser.parse_args()

    if not (args.data / "manifest.csv").exists():
        config = GenerateConfig(
            count=args.count, holdout_families=tuple(args.holdout), window_fraction=args.windows
        )
        generate(config, args.data, workers=args.workers, resume=True)
    held = set(read_info(args.data)["config"].get("holdout_families", []))
    checkpoint = args.checkpoint
    if checkpoint is None:
        from printability.train.loop import train  # after generation: torch not needed for it

        config = TrainConfig()
        if args.epochs is not None:
            config = replace(config, epochs=args.epochs)
        if args.width is not None:
            config = replace(config, width=args.width)
        run = train(args.data, args.out / "run", config=config, track=False, progress=False)
        checkpoint = args.out / "run" / "best.pt"
        print(f"trained {config.model} (width {config.width}) for {config.epochs} epochs in "
              f"{run['train_seconds']:.0f} s")  # fmt: skip
    checkpoints = [checkpoint, *args.compare]
    metrics = evaluate(checkpoints, args.data, args.out / "report", tta=args.tta, gallery=0,
                       track=False, progress=False)  # fmt: skip
    with open(args.out / "report" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = list(metrics["models"])
    columns = {n: c for n, c in zip(names, [k for k in rows[0] if k.startswith("p_")],
                                    strict=True)}  # fmt: skip
    by_family: dict[str, list[dict]] = defaultdict(list)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_family[r["part_kind"]].append(r)
        where = "held-out" if r["part_kind"] in held else "seen"
        sample = "window" if r["source"] == "window" else "whole part"
        by_kind[f"{where} families, {sample}"].append(r)
        by_kind[f"{where} families, all"].append(r)
    families = dict(sorted(by_family.items(), key=lambda kv: (kv[0] not in held, kv[0])))
    print(f"\naccuracy on the test split of {args.data}, per family")
    table(families, columns, held)
    print("\nper kind of sample")
    table(dict(sorted(by_kind.items())), columns, held)
    first = columns[names[0]]
    worst = min((accuracy(by_family[k], first) for k in held if k in by_family), default=0.0)
    held_rows = [r for k in held for r in by_family.get(k, [])]
    ahead = accuracy(held_rows, first) > accuracy(held_rows, columns["rules"])
    print(f"\nworst held-out family {worst:.4f} (target {args.target}); "
          f"{names[0]} ahead of the rules on held-out families: {ahead}")  # fmt: skip


if __name__ == "__main__":
    main()
