"""Benchmark: which parts of the default input and recipe matter. DistNet is trained on subsets
of the `distance_quarter` channels (data/inputs.py), with and without the defect-location loss,
on one dataset with one seed, and each variant's validation and test accuracy are printed.

Variants (channels of distance_quarter):
  blocks       0-2: material fraction, largest inside and outside distance per 4^3 block
  + ridges     0-4: and the smallest inside and outside ridge per block
  + detail     0-20: and the 2^3 detail of the inside distance and ridge (the default input)
  no location  0-20 without the location loss (classification loss only)

The loop is train/loop.py's recipe held in memory for speed (AdamW, warm-up and cosine decay,
bf16, a random cube symmetry per batch applied to the stored form, the location loss with
positives weighted as in training); `printability train` gives the default variant's figures
with its own loader.

Run: .venv/bin/python bench/input_ablation.py --data D [--epochs 12] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from printability.config import TrainConfig
from printability.data import open_dataset
from printability.data.inputs import decode_input
from printability.data.torch_dataset import CUBE_SYMMETRIES
from printability.models import create_model
from printability.train.loop import location_loss

VARIANTS = {
    "blocks": (list(range(3)), True),
    "+ ridges": (list(range(5)), True),
    "+ detail (default)": (list(range(21)), True),
    "no location loss": (list(range(21)), False),
}


def turn(x: torch.Tensor, k: int) -> torch.Tensor:
    """Cube symmetry k on the last three axes of a batch."""
    perm, flips = CUBE_SYMMETRIES[k]
    lead = x.dim() - 3
    x = x.permute(*range(lead), *(lead + a for a in perm))
    return x.flip([lead + a for a in flips]) if flips else x


def load(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """Every sample's stored input (uint8), label, defect cells (N/8) and split."""
    data = open_dataset(path)
    n, cells = data.resolution, data.resolution // 8
    codes = np.stack([data.input_codes(i, "distance_quarter") for i in range(len(data))])
    masks = np.zeros((len(data), cells, cells, cells), np.float32)
    for i in range(len(data)):
        masks[(i, *(data.defect_voxels(i) // (n // cells)).T)] = 1.0
    labels = np.array([r["label"] for r in data.records], np.float32)
    splits = np.array([r["split"] for r in data.records])
    return torch.from_numpy(codes), torch.from_numpy(labels), torch.from_numpy(masks), splits


def inputs(codes: torch.Tensor, channels: list[int]) -> torch.Tensor:
    x = torch.from_numpy(decode_input(codes.numpy(), "distance_quarter")[:, channels])
    return x.contiguous(memory_format=torch.channels_last_3d)


def accuracy(model, codes, labels, channels) -> float:
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = torch.cat([model(inputs(codes[i : i + 128], channels)).float()
                            for i in range(0, len(codes), 128)])  # fmt: skip
    model.train()
    return float(((logits > 0).float() == labels).float().mean())


def run(data, channels: list[int], locate: bool, epochs: int, seed: int) -> dict:
    """Train one variant; its last epoch's validation and test accuracy, and its time."""
    codes, labels, masks, splits = data
    config = TrainConfig()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(splits == "train")
    model = create_model("distnet", in_channels=len(channels))
    model = model.to(memory_format=torch.channels_last_3d).train()
    optimizer = torch.optim.AdamW(model.parameters(), config.lr, weight_decay=config.weight_decay)
    steps = len(train) // config.batch_size
    warmup = max(1, round(config.warmup_epochs * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (epochs * steps - warmup))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(train)
        for b in range(steps):
            batch = order[b * config.batch_size : (b + 1) * config.batch_size]
            k = int(rng.integers(48))
            x, y = inputs(turn(codes[batch], k), channels), labels[batch]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, cell_logits = model(x, cells=True)
            loss = F.binary_cross_entropy_with_logits(logits.float(), y)
            if locate:
                target = turn(masks[batch], k)
                loss = loss + config.location_weight * location_loss(cell_logits.float(), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    seconds = time.perf_counter() - start
    val, test = (np.flatnonzero(splits == s) for s in ("val", "test"))
    return {
        "val": accuracy(model, codes[val], labels[val], channels),
        "test": accuracy(model, codes[test], labels[test], channels),
        "seconds": seconds,
        "samples_per_second": epochs * steps * config.batch_size / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    data = load(args.data)
    print(f"DistNet on {args.data}, {args.epochs} epochs, seed {args.seed}")
    print("| input | channels | location loss | val accuracy | test accuracy | samples/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for name in args.variants:
        channels, locate = VARIANTS[name]
        r = run(data, channels, locate, args.epochs, args.seed)
        print(
            f"| {name} | {len(channels)} | {'yes' if locate else 'no'} | {r['val']:.4f} | "
            f"{r['test']:.4f} | {r['samples_per_second']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
