"""The model registry: a name -> constructor table, so configs and checkpoints name models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from torch import nn

from printability.data.inputs import get_input
from printability.models.distnet import DistNet
from printability.models.fastnet import FastNet
from printability.models.inception import InceptionNet3d
from printability.models.resnet import ResNetSmall
from printability.models.vanilla import Vanilla3DCNN


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: how to build it, the input it reads unless told otherwise
    (data/inputs.py), whether it has a defect-location head (`forward(x, cells=True)`), its
    Grad-CAM layer per input, and what the 2021 study reported for it."""

    build: Callable[..., nn.Module]
    description: str
    seed_parameters: int | None = None  # the 2021 study's parameter count, where it had one
    input: str = "distance_quarter"
    locates: bool = False
    seed_result: str | None = None  # the 2021 study's test figures, where it had them
    # the fan-in at which a conv trains at the full learning rate; one with more inputs trains at
    # lr * lr_fan_in / fan_in (train/loop.py: _param_groups). None: every layer at lr.
    lr_fan_in: int | None = None
    # input name -> dotted name of the Grad-CAM target layer on that input: the last block whose
    # output is still at least N/8 cells wide for an N^3 grid (inspect/gradcam.py: default_layer).
    # One layer for every N: on the smallest grids (N = 20 on distance_quarter, 17..23 for the
    # inceptions on occupancy) the pools' rounding leaves a later block floor(N/8) wide too, and
    # the registered, finer layer is kept.
    cam_layers: Mapping[str, str] = field(default_factory=dict)


LR_FAN_IN = 864
"""The inputs of DistNet's 3^3 convs of 32 channels, which train well at the default rate."""
INCEPTION_CAM_LAYERS = {"distance_quarter": "stem.2", "occupancy": "blocks.3"}

MODELS: dict[str, ModelSpec] = {
    "distnet": ModelSpec(
        DistNet,
        "default: distance fields at N/4, a defect-location head (for CPUs)",
        input="distance_quarter",
        locates=True,
        cam_layers={"distance_quarter": "features.4", "occupancy": "features.4"},
    ),
    "fastnet": ModelSpec(
        FastNet,
        "full-resolution stem on the occupancy grid, max-pooled stages",
        input="occupancy",
        cam_layers={"occupancy": "features.5", "distance_quarter": "features.1"},
    ),
    # The study's four read the default model's input; only their first layer's input channels
    # differ from the study's (`--input occupancy` gives its own input back).
    "vanilla3dcnn": ModelSpec(
        Vanilla3DCNN,
        "the 2021 Vanilla3DCNN_large",
        1_830_000,
        seed_result="F1 0.45, ROC AUC 0.65",
        locates=True,
        lr_fan_in=LR_FAN_IN,
        cam_layers={"distance_quarter": "features.2", "occupancy": "features.6"},
    ),
    "resnet_small": ModelSpec(
        ResNetSmall,
        "the 2021 ResNet_small",
        8_300_000,
        seed_result="F1 0, ROC AUC 0.52 (one class)",
        locates=True,
        lr_fan_in=LR_FAN_IN,
        cam_layers={"distance_quarter": "stages.1", "occupancy": "stages.5"},
    ),
    "inception_v1": ModelSpec(
        lambda **kw: InceptionNet3d(version=1, **kw),
        "the 2021 InceptionNet v1",
        9_300_000,
        seed_result="F1 0.96, ROC AUC 0.97, val accuracy 0.85",
        locates=True,
        lr_fan_in=LR_FAN_IN,
        cam_layers=INCEPTION_CAM_LAYERS,
    ),
    "inception_v3": ModelSpec(
        lambda **kw: InceptionNet3d(version=3, **kw),
        "the 2021 InceptionNet v3",
        17_900_000,
        seed_result="F1 0.98, ROC AUC 0.99",
        locates=True,
        lr_fan_in=LR_FAN_IN,
        cam_layers=INCEPTION_CAM_LAYERS,
    ),
}
DEFAULT_MODEL = "distnet"


def get_model_spec(name: str) -> ModelSpec:
    """Look up a registered model by name with a clear error."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def create_model(name: str = DEFAULT_MODEL, **kwargs) -> nn.Module:
    """Build a registered model by name (kwargs: width, dropout, in_channels; in_channels
    defaults to those of the model's own input). The model keeps its name in `registry_name`,
    so that `spec_of` finds its registry facts."""
    spec = get_model_spec(name)
    kwargs.setdefault("in_channels", get_input(spec.input).channels)
    model = spec.build(**kwargs)
    model.registry_name = name  # a plain attribute: not in the state_dict
    return model


def spec_of(model: nn.Module) -> ModelSpec:
    """The registry entry of a model built by `create_model` (or a copy of one), else a
    ValueError."""
    name = getattr(model, "registry_name", None)
    if name is None:
        raise ValueError(f"{type(model).__name__} was not built by create_model")
    return get_model_spec(name)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
