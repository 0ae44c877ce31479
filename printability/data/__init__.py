"""Datasets: defects and labels, the generation pipeline, and the sharded store."""

from printability.data.store import VoxelDataset, open_dataset

__all__ = ["VoxelDataset", "open_dataset"]
