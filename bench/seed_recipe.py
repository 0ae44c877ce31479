"""Benchmark: why Vanilla3DCNN stayed at chance on the distance input, and what fixed it.

Fits the same 512 training samples (held in memory, no augmentation, batch 32, AdamW, the
defect-location loss on the auxiliary head) with Vanilla3DCNN under recipe variants, and
prints the classification loss and the accuracy on the last 80 steps' batches. Chance is a loss of
0.69. The variants: the study's kernels (9, 7, 5, 3) with the default initialisation and one
learning rate; the same with 3^3 kernels (is it the kernel size?); centre-weighted initial
kernels alone; the learning rate scaled to each conv's fan-in alone; both (the recipe
`printability train` uses for the study's four).

Run: .venv/bin/python bench/seed_recipe.py --data D [--steps 480] [--variants plain both]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from printability.data.torch_dataset import VoxelTorchDataset
from printability.models import create_model
from printability.models.layers import conv_bn_relu, local_init_
from printability.models.registry import LR_FAN_IN
from printability.train.loop import _param_groups, location_loss

VARIANTS = {
    # name: (kernels, centre-weighted init, fan-in learning rate, learning rate)
    "plain": ((9, 7, 5, 3), False, False, 1e-3),
    "3^3 kernels": ((3, 3, 3, 3), False, False, 1e-3),
    "centre init": ((9, 7, 5, 3), True, False, 1e-3),
    "fan-in lr": ((9, 7, 5, 3), False, True, 2e-3),
    "both": ((9, 7, 5, 3), True, True, 1e-3),
}


def build(kernels: tuple[int, ...], centre_init: bool) -> nn.Module:
    """Vanilla3DCNN for the distance input with its convs re-made with `kernels` (the default
    initialisation), then centre-weighted if `centre_init` (models/layers.py: local_init_)."""
    torch.manual_seed(0)
    model = create_model("vanilla3dcnn")
    layers, c_in = [], model.features[0][0].in_channels
    for c_out, k in zip((32, 64, 96, 128), kernels, strict=True):
        layers += [conv_bn_relu(c_in, c_out, k), nn.MaxPool3d(2, ceil_mode=True)]
        c_in = c_out
    model.features = nn.Sequential(*layers)
    return local_init_(model) if centre_init else model


def fit(name: str, data: tuple, steps: int) -> tuple[float, float, float]:
    """Train one variant; mean classification loss and accuracy over the last 80 steps, and s."""
    kernels, centre_init, fan_in, lr = VARIANTS[name]
    x, y, cells = data
    model = build(kernels, centre_init).to(memory_format=torch.channels_last_3d).train()
    optimizer = torch.optim.AdamW(_param_groups(model, lr, LR_FAN_IN if fan_in else None), lr)
    generator = torch.Generator().manual_seed(0)
    losses, hits = [], []
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (32,), generator=generator)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, cell_logits = model(x[idx].to(memory_format=torch.channels_last_3d), True)
        loss_class = nn.functional.binary_cross_entropy_with_logits(logits.float(), y[idx])
        loss = loss_class + location_loss(cell_logits.float(), cells[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss_class.item())
        hits.append(((logits.detach() > 0) == (y[idx] > 0.5)).float().mean().item())
    return float(np.mean(losses[-80:])), float(np.mean(hits[-80:])), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--steps", type=int, default=480)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    train = VoxelTorchDataset(
        args.data, "train", augment=False, input_name="distance_quarter", mask_size=8
    )
    items = [train[i] for i in range(min(args.samples, len(train)))]
    data = tuple(
        torch.stack([torch.as_tensor(item[j]).float() for item in items]) for j in (0, 1, 2)
    )
    print(f"Vanilla3DCNN, {len(items)} samples of {args.data}, {args.steps} steps of 32")
    print("| variant | kernels | centre init | fan-in lr | lr | class loss | accuracy | s |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for name in args.variants:
        loss, accuracy, seconds = fit(name, data, args.steps)
        kernels, centre, fan_in, lr = VARIANTS[name]
        print(
            f"| {name} | {','.join(map(str, kernels))} | {'yes' if centre else 'no'} "
            f"| {'yes' if fan_in else 'no'} | {lr:g} | {loss:.3f} | {accuracy:.3f} "
            f"| {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
