"""The model registry: a name -> constructor table, so configs and checkpoints name models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from printability.models.fastnet import FastNet
from printability.models.inception import InceptionNet3d
from printability.models.resnet import ResNetSmall
from printability.models.vanilla import Vanilla3DCNN


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: how to build it, and what the 2021 study reported for it."""

    build: Callable[..., nn.Module]
    description: str
    seed_parameters: int | None = None  # the 2021 study's parameter count, where it had one


MODELS: dict[str, ModelSpec] = {
    "fastnet": ModelSpec(FastNet, "default: full-resolution stem, max-pooled stages (for CPUs)"),
    "vanilla3dcnn": ModelSpec(Vanilla3DCNN, "the 2021 Vanilla3DCNN_large", 1_830_000),
    "resnet_small": ModelSpec(ResNetSmall, "the 2021 ResNet_small", 8_300_000),
    "inception_v1": ModelSpec(
        lambda **kw: InceptionNet3d(version=1, **kw), "the 2021 InceptionNet v1", 9_300_000
    ),
    "inception_v3": ModelSpec(
        lambda **kw: InceptionNet3d(version=3, **kw), "the 2021 InceptionNet v3", 17_900_000
    ),
}
DEFAULT_MODEL = "fastnet"


def create_model(name: str = DEFAULT_MODEL, **kwargs) -> nn.Module:
    """Build a registered model by name (kwargs: width, dropout); a clear error otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name].build(**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
