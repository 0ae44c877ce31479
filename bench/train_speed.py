"""Benchmark: training throughput of the network alone (samples/s, forward + backward + AdamW
step) at 64^3; bench/end_to_end.py times `printability train` itself, loading included.

For each model: fp32 (the baseline, same run) and bf16 autocast + channels_last_3d, and their
ratio, on random batches of the model's own input (data/inputs.py): the speed does not depend
on the data.
Run: .venv/bin/python bench/train_speed.py [--models fastnet vanilla3dcnn] [--resolution 64]
     [--stem-share]   (also: how much of a FastNet step its full-resolution stem takes)
"""

from __future__ import annotations

import argparse
import time

import torch

from printability.data.inputs import get_input
from printability.models import create_model, get_model_spec


def samples_per_second(
    name: str, n: int, batch: int, steps: int, fast: bool, width: float = 1.0
) -> float:
    """Timed training steps after two warm-up steps."""
    torch.manual_seed(0)
    memory = torch.channels_last_3d if fast else torch.contiguous_format
    model = create_model(name, width=width).to(memory_format=memory).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    shape = get_input(get_model_spec(name).input).shape(n)
    x = (torch.rand(batch, *shape) > 0.5).float().to(memory_format=memory)
    y = (torch.rand(batch) > 0.5).float()
    for step in range(steps + 2):
        if step == 2:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
            logits = model(x).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - start)


def stem_share(n: int, batch: int, steps: int) -> tuple[float, float]:
    """FastNet, bf16 + channels_last: ms per training step, and ms of its stem's forward and
    backward passes alone (its weight gradient from a random upstream gradient)."""
    torch.manual_seed(0)
    model = create_model("fastnet").to(memory_format=torch.channels_last_3d).train()
    x = (torch.rand(batch, 1, n, n, n) > 0.5).float().to(memory_format=torch.channels_last_3d)
    step_ms = 1000 * batch / samples_per_second("fastnet", n, batch, steps, True)
    stem = model.features[0]
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = stem(x)
        out.backward(torch.randn_like(out))
    return step_ms, 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["distnet", "fastnet"])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    parser.add_argument(
        "--stem-share", action="store_true", help="also time FastNet's stem alone in a step"
    )
    args = parser.parse_args()
    if args.stem_share:
        step_ms, stem_ms = stem_share(args.resolution, args.batch_size, args.steps)
        print(
            f"fastnet {args.resolution}^3 batch {args.batch_size}: training step {step_ms:.0f} ms, "
            f"of which the stem's forward + backward {stem_ms:.0f} ms ({stem_ms / step_ms:.0%})"
        )
    for name in args.models:
        base = samples_per_second(
            name, args.resolution, args.batch_size, args.steps, False, args.width
        )
        fast = samples_per_second(
            name, args.resolution, args.batch_size, args.steps, True, args.width
        )
        print(
            f"{name} width {args.width:g} {args.resolution}^3 batch {args.batch_size}: "
            f"fp32 {base:6.1f} samples/s, "
            f"bf16 + channels_last {fast:6.1f} samples/s ({fast / base:.2f}x)"
        )


if __name__ == "__main__":
    main()
