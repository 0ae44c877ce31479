"""Checkpoints: weights plus the model, preprocessing and training config, in plain types so
that they load with torch.load(weights_only=True) (nothing a user hands in is unpickled)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from printability.config import TrainConfig
from printability.data.inputs import LEGACY_INPUT, get_input
from printability.models import create_model, get_model_spec

FORMAT = "printability-checkpoint-1"


def config_input(config: TrainConfig) -> str:
    """The network input a TrainConfig trains on: its own, else its model's (data/inputs.py)."""
    return config.input or get_model_spec(config.model).input


def model_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The constructor arguments a TrainConfig implies for its model."""
    kwargs: dict[str, Any] = {"width": config.width}
    if config.dropout is not None:
        kwargs["dropout"] = config.dropout
    kwargs["in_channels"] = get_input(config_input(config)).channels
    return kwargs


def checkpoint_input(payload: dict[str, Any]) -> str:
    """The network input a loaded checkpoint expects (what its model was trained on).
    Training names it in every checkpoint; one without a name read the occupancy grid, which was
    every model's input before inputs had names."""
    return (payload.get("train_config") or {}).get("input") or LEGACY_INPUT


def save_checkpoint(
    path: Path, model: nn.Module, config: TrainConfig, data_info: dict, **state: Any
) -> None:
    """Write atomically: weights, model name and arguments, the dataset's config (how meshes
    were preprocessed), the training config with its input named, and any extra state (epoch,
    optimizer, metrics)."""
    payload = {
        "format": FORMAT,
        "model": config.model,
        "model_kwargs": model_kwargs(config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": replace(config, input=config_input(config)).to_dict(),
        "data": _plain(data_info),
        **{k: _plain(v) for k, v in state.items()},
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays to Python numbers and lists (weights_only refuses numpy)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint safely (weights_only=True); a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a printability checkpoint")
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """Rebuild the network of a loaded checkpoint with its weights, in eval mode."""
    model = create_model(payload["model"], **payload["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
