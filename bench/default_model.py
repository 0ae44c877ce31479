"""Benchmark: does the default model learn every time? Train it with the README's defaults on one
dataset for several seeds, evaluate every run and the rule baseline on the same test split, and
print one table: test accuracy, F1, ROC AUC, training seconds and samples/s per seed, the
rules beside them, and whether every seed reached the target. With `--select val_f1`, the
final weights' test accuracy (last.pt) is printed too: both checkpoint rules from one run.

The dataset is generated first when --data does not exist (`printability generate --out DATA
--count 4000`, the default procedural data), so the figures come from one command.

Run: .venv/bin/python bench/default_model.py [--data out/bench/d64_4k] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from printability.config import GenerateConfig, TrainConfig
from printability.data.generate import generate
from printability.evaluate.evaluation import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/d64_4k"))
    parser.add_argument("--count", type=int, default=4000, help="samples if --data is missing")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", default=None, help="default: the default model")
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--select", default=None, help="best.pt's rule; default: TrainConfig's")
    parser.add_argument("--patience", type=int, default=None, help="early stopping; default none")
    parser.add_argument("--target", type=float, default=0.99, help="test accuracy to reach")
    parser.add_argument("--out", type=Path, default=Path("out/bench/default_model"))
    args = parser.parse_args()

    if not (args.data / "manifest.csv").exists():
        generate(GenerateConfig(count=args.count), args.data, workers=2, resume=True)
    from printability.train.loop import train  # after generation: torch not needed for it

    base = TrainConfig()
    if args.model:
        base = replace(base, model=args.model)
    if args.epochs:
        base = replace(base, epochs=args.epochs)
    if args.select:
        base = replace(base, select=args.select)
    if args.patience:
        base = replace(base, patience=args.patience)
    runs = {}
    for seed in args.seeds:
        run = args.out / f"seed{seed}"
        config = replace(base, seed=seed)
        runs[seed] = train(args.data, run, config=config, track=False, progress=False)
    report = evaluate(
        [args.out / f"seed{seed}" / "best.pt" for seed in args.seeds],
        args.data,
        args.out / "report",
        gallery=0,
        track=False,
        progress=False,
    )
    models = list(report["models"].values())
    rules = report["models"].get("rules")
    print(f"\n{base.model} on {args.data} ({len(args.seeds)} seeds, {base.epochs} epochs)")
    print("| seed | test accuracy | F1 | ROC AUC | errors | train s | samples/s | best epoch |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    reached = []
    for seed, metrics in zip(args.seeds, models, strict=False):
        (tn, fp), (fn, tp) = metrics["confusion_matrix"]
        run = runs[seed]
        reached.append(metrics["accuracy"] >= args.target)
        print(
            f"| {seed} | {metrics['accuracy']:.4f} | {metrics['f1']:.4f} | "
            f"{metrics['roc_auc']:.4f} | {fp + fn} | {run['train_seconds']:.0f} | "
            f"{run['samples_per_second']:.0f} | {run['best_epoch']} |"
        )
    if rules:
        (tn, fp), (fn, tp) = rules["confusion_matrix"]
        print(
            f"| rules | {rules['accuracy']:.4f} | {rules['f1']:.4f} | {rules['roc_auc']:.4f} | "
            f"{fp + fn} | - | - | - |"
        )
    if base.select != "final":  # last.pt holds the final weights: what "final" would keep
        from printability.evaluate.predict import predict_checkpoint

        for seed in args.seeds:
            last = args.out / f"seed{seed}" / "last.pt"
            final = predict_checkpoint(last, args.data, split="test", progress=False)
            errors = int((final.predicted != final.labels).sum())
            print(f"seed {seed}, final weights: test accuracy "
                  f"{1 - errors / len(final.labels):.4f} ({errors} errors)")  # fmt: skip
    verdict = "every seed" if all(reached) else f"{sum(reached)} of {len(reached)} seeds"
    print(f"target test accuracy {args.target}: reached by {verdict}")
    (args.out / "summary.json").write_text(json.dumps({"runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
