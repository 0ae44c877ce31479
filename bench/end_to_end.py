"""Benchmark: `printability train` and `printability evaluate` end to end (data loading and input
features included), the default model beside FastNet on one dataset in the same run, as ratios.

For each model: `train()` for a few epochs (samples/s as the run's metrics.json reports it:
training samples over training seconds, loading included), then `predict_checkpoint` over the
test split (what `evaluate` runs: loading, the input, the network; samples/s over its wall
time), and the network alone on one batch held in memory. The targets are 200 samples/s
for training and 500 for evaluation at 64^3 on this machine's 2 cores.

Run: .venv/bin/python bench/end_to_end.py [--data out/bench/d64_4k] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from printability.config import GenerateConfig, TrainConfig
from printability.data.generate import generate
from printability.data.inputs import get_input
from printability.evaluate.predict import predict_checkpoint
from printability.models import get_model_spec
from printability.models.inference import fuse_for_inference
from printability.train.checkpoint import load_checkpoint, model_from_checkpoint
from printability.train.loop import train


def network_only(checkpoint: Path, resolution: int, batch: int, repeats: int = 5) -> float:
    """Samples/s of the checkpoint's network (BatchNorm folded, bf16, channels-last) on one
    random batch of its input held in memory: evaluate's ceiling."""
    payload = load_checkpoint(checkpoint)
    model = fuse_for_inference(model_from_checkpoint(payload))
    model = model.to(memory_format=torch.channels_last_3d)
    shape = get_input(get_model_spec(payload["model"]).input).shape(resolution)
    x = torch.rand(batch, *shape).contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x)
        start = time.perf_counter()
        for _ in range(repeats):
            model(x)
    return repeats * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/d64_4k"))
    parser.add_argument("--count", type=int, default=4000, help="samples if --data is missing")
    parser.add_argument("--models", nargs="+", default=["distnet", "fastnet"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="for evaluation")
    parser.add_argument("--out", type=Path, default=Path("out/bench/end_to_end"))
    args = parser.parse_args()
    if not (args.data / "manifest.csv").exists():
        generate(GenerateConfig(count=args.count), args.data, workers=2, resume=True)

    rows = {}
    for name in args.models:
        run = args.out / name
        config = TrainConfig(model=name, epochs=args.epochs, patience=args.epochs)
        metrics = train(args.data, run, config=config, track=False, progress=False)
        predictions = predict_checkpoint(
            run / "best.pt",
            args.data,
            split="test",
            batch_size=args.batch_size,
            progress=False,
            name=name,
        )
        resolution = int(load_checkpoint(run / "best.pt")["data"]["resolution"])
        rows[name] = (
            metrics["samples_per_second"],
            predictions.samples_per_second,
            network_only(run / "best.pt", resolution, args.batch_size),
            len(predictions.records),
        )
    base = rows[args.models[-1]]
    print(f"\n{args.data}, {args.epochs} epochs, ratios against {args.models[-1]} (same run)")
    print("| model | train samples/s | evaluate samples/s (end to end) | network alone | ratios |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, (train_sps, eval_sps, net_sps, n) in rows.items():
        ratios = (
            f"{train_sps / base[0]:.2f}x / {eval_sps / base[1]:.2f}x / {net_sps / base[2]:.2f}x"
        )
        print(
            f"| {name} | {train_sps:.1f} | {eval_sps:.1f} ({n} test samples) | {net_sps:.1f} | "
            f"{ratios} |"
        )


if __name__ == "__main__":
    main()
