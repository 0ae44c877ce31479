"""Benchmark: inference speed of `printability evaluate` at 64^3 (target: >= 500 samples/s
for the default model on this CPU), with ratios against baselines measured in the same run.

Rows:
  - evaluate end to end: predict_checkpoint over the dataset's test split (loading included)
  - model only, per variant, on one batch held in memory:
      baseline     the network as trained: a 3^3 conv then max_pool3d in the stem, BatchNorm
      fused stem   the stem as one stride-2 conv with 8 phase kernels + max (models/fastnet.py)
      + folded BN  the same with BatchNorm folded into the convs (models/inference.py), as used
                   by evaluate
Weights are random (speed does not depend on them); the dataset is generated if missing.

Run: .venv/bin/python bench/evaluate.py [--data out/bench/d64_eval] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from printability.config import GenerateConfig, TrainConfig, VoxelConfig
from printability.data.generate import generate
from printability.evaluate.predict import predict_checkpoint
from printability.models import create_model, fastnet
from printability.models.inference import fuse_for_inference
from printability.train.checkpoint import save_checkpoint


def stem_as_trained(self, x: torch.Tensor) -> torch.Tensor:
    """The stem written the plain way (conv at every voxel, then max_pool3d): the baseline."""
    with torch.autocast(x.device.type, enabled=False):
        return torch.relu(
            self.norm(F.max_pool3d(F.conv3d(x.float(), self.conv.weight, padding=1), 2))
        )


def samples_per_second(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Forward passes in inference mode with bf16 autocast, as evaluate runs them."""
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x[:4])
        start = time.perf_counter()
        for _ in range(repeats):
            model(x)
    return repeats * len(x) / (time.perf_counter() - start)


def layer_times(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> list[tuple[str, float]]:
    """Milliseconds per batch of each top-level layer of model.features, then the head, in
    inference mode with bf16 autocast: where the time goes."""
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        h = x
        for i, layer in enumerate([*model.features, model.head]):
            layer(h)  # warm-up
            start = time.perf_counter()
            for _ in range(repeats):
                out = layer(h)
            times.append(
                (f"{i} {type(layer).__name__}", 1000 * (time.perf_counter() - start) / repeats)
            )
            h = out
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/bench/d64_eval"))
    parser.add_argument("--count", type=int, default=800, help="samples if --data is missing")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (args.data / "manifest.csv").exists():
        generate(GenerateConfig(count=args.count, voxel=VoxelConfig(resolution=64)), args.data)

    torch.manual_seed(0)
    model = create_model("fastnet").eval()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "random.pt"
        save_checkpoint(checkpoint, model, TrainConfig(), {"resolution": 64})
        result = predict_checkpoint(
            checkpoint,
            args.data,
            split="test",
            batch_size=args.batch_size,
            progress=False,
            name="fastnet",
        )
    print(f"evaluate end to end: {len(result.records)} test samples, "
          f"{result.samples_per_second:.1f} samples/s (batch {args.batch_size})")  # fmt: skip

    x = (torch.rand(args.batch_size, 1, 64, 64, 64) > 0.5).float()
    x = x.contiguous(memory_format=torch.channels_last_3d)
    model = model.to(memory_format=torch.channels_last_3d)
    new_stem = fastnet.FullResolutionStem.forward
    fastnet.FullResolutionStem.forward = stem_as_trained
    baseline = samples_per_second(model, x, args.repeats)
    fastnet.FullResolutionStem.forward = new_stem
    fused_stem = samples_per_second(model, x, args.repeats)
    folded = samples_per_second(fuse_for_inference(model), x, args.repeats)
    print(f"| model only, 64^3, batch {args.batch_size} | samples/s | vs baseline |")
    print("| --- | ---: | ---: |")
    rows = (
        ("baseline (conv + max_pool3d stem)", baseline),
        ("fused stem", fused_stem),
        ("fused stem + folded BN", folded),
    )
    for name, value in rows:
        print(f"| {name} | {value:.1f} | {value / baseline:.2f}x |")

    times = layer_times(fuse_for_inference(model), x, args.repeats)
    total = sum(ms for _, ms in times)
    print(f"\nwhere the time goes (fused stem + folded BN, batch {args.batch_size}):")
    for name, ms in times:
        print(f"  {name:22s} {ms:7.1f} ms  {ms / total:5.1%}")
    print(f"  {'sum':22s} {total:7.1f} ms  = {args.batch_size / total * 1000:.0f} samples/s")


if __name__ == "__main__":
    main()
