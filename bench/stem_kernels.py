"""Experiment: FastNet's stem (3^3 conv over every voxel, then 2x max-pool) as oneDNN runs it,
against the same arithmetic written as 27 shifted multiply-adds and a block max, compiled by
torch.compile (inductor) into one fused loop. A lead for FastNet's training speed: the stem
takes most of its training step (`bench/train_speed.py --stem-share`).

Prints forward and forward + backward milliseconds per batch (weight gradient only, as in
training) and checks that both compute the same numbers. Random occupancy grids, fp32.
Run: .venv/bin/python bench/stem_kernels.py [--batch-size 32] [--channels 4]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F


def onednn_stem(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """What FastNet trains with: conv3d then max_pool3d."""
    return F.max_pool3d(F.conv3d(x, weight, padding=1), 2)


def shifted_sum_stem(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The same conv as a sum of 27 shifted copies of the input, then the max over each 2^3
    block: plain elementwise ops and one reduction, which inductor can fuse."""
    batch, channels, n = x.shape[0], weight.shape[0], x.shape[-1]
    padded = F.pad(x, (1, 1, 1, 1, 1, 1))
    total = 0
    for a in range(3):
        for b in range(3):
            for c in range(3):
                tap = weight[:, 0, a, b, c].view(1, channels, 1, 1, 1)
                total = total + tap * padded[:, :, a : a + n, b : b + n, c : c + n]
    blocks = total.view(batch, channels, n // 2, 2, n // 2, 2, n // 2, 2)
    return blocks.amax(dim=(3, 5, 7))


def timings(
    stem: Callable, x: torch.Tensor, weight: torch.Tensor, repeats: int
) -> tuple[float, float]:
    """(forward ms, forward + backward ms) per batch, after two warm-up passes."""
    grad = torch.randn(x.shape[0], weight.shape[0], *(s // 2 for s in x.shape[2:]))
    for _ in range(2):
        stem(x, weight).backward(grad)
    start = time.perf_counter()
    for _ in range(repeats):
        stem(x, weight)
    forward = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        stem(x, weight).backward(grad)
    both = (time.perf_counter() - start) / repeats
    return 1000 * forward, 1000 * both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = (torch.rand(args.batch_size, 1, 64, 64, 64) > 0.5).float()
    weight = torch.randn(args.channels, 1, 3, 3, 3, requires_grad=True)
    compiled = torch.compile(shifted_sum_stem)
    with torch.no_grad():
        start = time.perf_counter()
        difference = (compiled(x, weight) - onednn_stem(x, weight)).abs().max().item()
    print(f"compiled in {time.perf_counter() - start:.1f} s; max difference {difference:.2e}")
    rows = (("oneDNN conv + max_pool3d", onednn_stem), ("inductor, fused", compiled))
    base = None
    for name, stem in rows:
        forward, both = timings(stem, x, weight, args.repeats)
        base = base or (forward, both)
        print(
            f"{name:26s} forward {forward:6.0f} ms ({base[0] / forward:.2f}x)   "
            f"forward + backward {both:6.0f} ms ({base[1] / both:.2f}x)"
        )


if __name__ == "__main__":
    main()
