"""Batched inference of a checkpoint over a dataset split: one probability per sample.

No per-sample loop: a DataLoader worker unpacks voxels while the network runs batches in
inference mode (on the GPU when there is one; bf16 autocast and channels_last where the
hardware has them, as in training).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from printability.data.store import VoxelDataset, open_dataset
from printability.data.torch_dataset import CUBE_SYMMETRIES, VoxelTorchDataset
from printability.models.inference import fuse_for_inference, native_bf16
from printability.train.checkpoint import (
    checkpoint_input,
    load_checkpoint,
    model_from_checkpoint,
)

DECISION_THRESHOLD = 0.5  # P(printable) from which a sample counts as printable


@dataclass
class Predictions:
    """One model's output on one split, aligned with the dataset rows it came from."""

    name: str
    records: list[dict[str, Any]]  # manifest rows, in order
    probabilities: np.ndarray  # P(printable) per sample
    seconds: float = 0.0  # wall time of inference (loading included)
    checkpoint_data: dict[str, Any] | None = None  # the checkpoint's "data" record (None: rules)

    @property
    def labels(self) -> np.ndarray:
        return np.array([int(r["label"]) for r in self.records])

    @property
    def predicted(self) -> np.ndarray:
        return (self.probabilities >= DECISION_THRESHOLD).astype(int)

    @property
    def samples_per_second(self) -> float:
        return len(self.records) / self.seconds if self.seconds else float("nan")


def split_records(data: VoxelDataset, split: str | None) -> list[int]:
    """Row indices of one split (all rows for None), with a clear error when it is empty."""
    indices = [i for i, r in enumerate(data.records) if split is None or r["split"] == split]
    if not indices:
        raise ValueError(f"{data.root}: no samples in split {split!r}")
    return indices


@torch.inference_mode()
def predict_checkpoint(
    checkpoint: str | Path,
    data: str | Path | VoxelDataset,
    *,
    split: str | None = "test",
    batch_size: int = 64,
    tta: int = 1,
    num_workers: int = 1,
    progress: bool = True,
    name: str | None = None,
) -> Predictions:
    """P(printable) for every sample of `split`, from the checkpoint's best weights.

    `tta` > 1 averages the logits over that many cube symmetries (1..48), each applied to the
    stored input (a block input's channels turn with its grid), one pass over the split each."""
    payload = load_checkpoint(checkpoint)
    dataset = data if isinstance(data, VoxelDataset) else open_dataset(data)
    trained_at = payload.get("data", {}).get("resolution")
    if trained_at is not None and int(trained_at) != dataset.resolution:
        raise ValueError(
            f"{checkpoint}: trained on {trained_at}^3 grids, {dataset.root} has "
            f"{dataset.resolution}^3"
        )
    if not 1 <= tta <= len(CUBE_SYMMETRIES):
        raise ValueError(f"tta must be between 1 and {len(CUBE_SYMMETRIES)}, got {tta}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = fuse_for_inference(model_from_checkpoint(payload))
    model = model.to(device, memory_format=torch.channels_last_3d)
    bf16 = native_bf16(device)
    input_name = checkpoint_input(payload)
    views = [
        VoxelTorchDataset(dataset, split, input_name=input_name, symmetry=k) for k in range(tta)
    ]
    if not len(views[0]):
        raise ValueError(f"{dataset.root}: no samples in split {split!r}")
    start = time.perf_counter()
    summed: torch.Tensor | float = 0.0
    for view in views:
        loader = DataLoader(view, batch_size=batch_size, num_workers=num_workers)
        label = name or Path(checkpoint).name
        if tta > 1:
            label = f"{label} view {view.symmetry + 1}/{tta}"
        logits = []
        for x, _ in tqdm(loader, desc=label, disable=not progress, unit="batch"):
            x = x.to(device, memory_format=torch.channels_last_3d)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits.append(model(x).float().cpu())
        summed = summed + torch.cat(logits)
    seconds = time.perf_counter() - start
    probabilities = torch.sigmoid(summed / tta).double().numpy()
    records = [dataset.records[i] for i in views[0].indices]
    name = name or str(checkpoint)
    return Predictions(name, records, probabilities, seconds, payload.get("data", {}))
