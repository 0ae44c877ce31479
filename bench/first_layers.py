"""Experiment: which first layers can learn the defects, and how fast they train at 64^3.

Each candidate is a first layer in front of the same FastNet-like body. For each: training
samples/s (random grids, bf16 + channels_last) and validation accuracy after fitting a small
training subset (default 256 samples, 30 epochs, one random cube symmetry per batch). The finding
behind FastNet's design: only a stride-1 conv over every voxel followed by a max-pool learns;
strided, patch, space-to-depth and pooled-input layers stay near 0.5.
Run: .venv/bin/python bench/first_layers.py --data out/bench/d64_4k [--layers full strided ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from printability.data import open_dataset
from printability.models.fastnet import FullResolutionStem
from printability.models.layers import GlobalAvgMaxPool, conv_bn_relu


class SpaceToDepth(nn.Module):
    """(B, C, N, N, N) -> (B, C f^3, N/f, N/f, N/f), lossless."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.f = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = x.shape
        f = self.f
        x = x.reshape(b, c, d // f, f, h // f, f, w // f, f).permute(0, 1, 3, 5, 7, 2, 4, 6)
        return x.reshape(b, c * f**3, d // f, h // f, w // f)


class PooledInput(nn.Module):
    """Fixed 2x average, max and min pooling of the input, as 3 channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pools = (nn.functional.avg_pool3d(x, 2), nn.functional.max_pool3d(x, 2))
        return torch.cat([*pools, -nn.functional.max_pool3d(-x, 2)], 1)


def body(c_in: int, stages: int = 3) -> nn.Sequential:
    """3^3 conv stages with 2x max-pools between them, then mean+max pool and a linear head."""
    widths, layers = (16, 32, 64, 128)[-stages - 1 :], []
    for i, c in enumerate(widths):
        layers += [conv_bn_relu(c_in, c, 3)] + ([nn.MaxPool3d(2)] if i < len(widths) - 1 else [])
        c_in = c
    return nn.Sequential(*layers, GlobalAvgMaxPool(), nn.Linear(2 * c_in, 1), nn.Flatten(0))


FIRST_LAYERS = {  # name -> (first layer, its output channels, body stages after it)
    "full": (lambda: FullResolutionStem(4), 4, 3),  # FastNet's: learns
    "strided": (lambda: conv_bn_relu(1, 16, 4, stride=2), 16, 3),
    "patch": (lambda: nn.Sequential(SpaceToDepth(4), conv_bn_relu(64, 32, 1)), 32, 2),
    "space_to_depth": (lambda: nn.Sequential(SpaceToDepth(2), conv_bn_relu(8, 16, 3)), 16, 3),
    "pooled_input": (lambda: nn.Sequential(PooledInput(), conv_bn_relu(3, 16, 3)), 16, 3),
    # 4^3 patches into 64 channels and a 3^3 conv before the first pool: fast enough for the
    # target of 200 training samples/s (about 290 here), if it learned
    "patch_wide": (
        lambda: nn.Sequential(
            SpaceToDepth(4), conv_bn_relu(64, 64, 1), conv_bn_relu(64, 32, 3), nn.MaxPool3d(2)
        ),
        32,
        2,
    ),
}


def build(name: str) -> nn.Module:
    layer, channels, stages = FIRST_LAYERS[name]
    return nn.Sequential(layer(), body(channels, stages)).to(memory_format=torch.channels_last_3d)


def step(model, optimizer, x, y) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nn.functional.binary_cross_entropy_with_logits(model(x).float(), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def samples_per_second(name: str, n: int, batch: int, steps: int = 3) -> float:
    model = build(name)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = (
        (torch.rand(batch, 1, n, n, n) > 0.5)
        .float()
        .contiguous(memory_format=torch.channels_last_3d)
    )
    y = (torch.rand(batch) > 0.5).float()
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        step(model, optimizer, x, y)
    return batch * steps / (time.perf_counter() - start)


def fit_accuracy(
    name, x_train, y_train, x_val, y_val, epochs, batch, seed=0
) -> tuple[float, float]:
    """Validation accuracy after `epochs` over the training subset, and the mean training loss
    of the last epoch (near 0.69, chance, when the layer cannot even fit the training data)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build(name)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    for _ in range(epochs):
        losses = []
        order = torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i : i + batch]
            perm = (torch.randperm(3, generator=gen) + 2).tolist()
            flips = [d + 2 for d in range(3) if torch.rand(1, generator=gen).item() < 0.5]
            x = x_train[idx].permute(0, 1, *perm).flip(flips).float()
            x = x.contiguous(memory_format=torch.channels_last_3d)
            losses.append(step(model, optimizer, x, y_train[idx]))
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = torch.cat(
            [model(x_val[i : i + 64].float()).float() for i in range(0, len(x_val), 64)]
        )
    return float(((logits > 0) == (y_val > 0.5)).float().mean()), float(np.mean(losses))


def load_split(data, split: str, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [i for i, r in enumerate(data.records) if r["split"] == split][:limit]
    x = np.stack([data[i][0] for i in rows])[:, None].astype(np.uint8)
    return torch.from_numpy(x), torch.tensor([float(data.records[i]["label"]) for i in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a dataset folder (e.g. 64^3, 4,000 samples)")
    parser.add_argument("--layers", nargs="+", default=list(FIRST_LAYERS), choices=FIRST_LAYERS)
    parser.add_argument("--train", type=int, default=256, help="training samples to fit")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    data = open_dataset(args.data)
    x_train, y_train = load_split(data, "train", args.train)
    x_val, y_val = load_split(data, "val", 10**9)
    n = x_train.shape[-1]
    print(f"{args.data}: {n}^3, fit {len(x_train)} samples for {args.epochs} epochs, "
          f"validate on {len(x_val)}")  # fmt: skip
    for name in args.layers:
        speed = samples_per_second(name, n, args.batch_size)
        acc, loss = fit_accuracy(name, x_train, y_train, x_val, y_val, args.epochs, args.batch_size)
        print(
            f"{name:15s} {speed:7.1f} samples/s   validation accuracy {acc:.3f}   "
            f"last-epoch training loss {loss:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
