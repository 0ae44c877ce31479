"""ONNX export of a checkpoint, for deployment without torch (onnxruntime, TensorRT, ...).

The graph takes the network's input, float32 of shape (batch, C, n, n, n), as
`printability.data.inputs.model_input` makes it from an N^3 voxel grid (N the checkpoint's
training resolution; batch is dynamic): named `voxels` for a model on the occupancy grid
((batch, 1, N, N, N), 0/1), else after its input (`distance_quarter`). It returns `logit`, shape
(batch,); P(printable) = sigmoid(logit). BatchNorm is folded into the convs first (the same
rewrite `evaluate` uses), and the checkpoint's preprocessing config and input name travel in
the model's metadata_props (JSON strings under `printability.*` keys, see `onnx_metadata`) so
that a deployment voxelizes a mesh exactly as the training data was voxelized.

DistNet, and a FastNet whose Grad-CAM layer is features.5 (N a multiple of 16, e.g. 64), also
return `cam`, shape (batch, N/8, N/8, N/8): the Grad-CAM before upsampling (`gradcam.
DistNetWithCam`, `gradcam.FastNetWithCam`), so that `check` explains a verdict without torch
(`heat.heat_from_cam` upsamples it).

Exporter: torch's TorchScript-based one (`dynamo=False`). The torch.export-based default of
torch >= 2.9 needs the onnxscript package besides onnx; the TorchScript one needs nothing more
and gives the same graph here (it warns that it is deprecated; the warning is silenced).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from printability.data.inputs import LEGACY_INPUT, get_input
from printability.inspect.gradcam import DistNetWithCam, FastNetWithCam, default_layer
from printability.inspect.runtime import METADATA_PREFIX
from printability.models.distnet import DistNet
from printability.models.fastnet import FastNet, FullResolutionStem, phase_conv_max, phase_kernels
from printability.models.inference import fuse_for_inference
from printability.train.checkpoint import (
    checkpoint_input,
    load_checkpoint,
    model_from_checkpoint,
)

INPUT_NAME, OUTPUT_NAME, CAM_NAME = "voxels", "logit", "cam"
FORMAT = "printability-onnx-1"
# ReduceMax over an axis and unflatten need opset 13; the TorchScript exporter stops at 20
MIN_OPSET, MAX_OPSET = 13, 20


def export_onnx(checkpoint: str | Path, out_path: str | Path, *, opset: int | None = None) -> Path:
    """Write the checkpoint's network as an ONNX file with a dynamic batch axis; returns the
    path. `opset` None takes the exporter's default (20 with torch 2.13)."""
    onnx = _require("onnx")
    if opset is not None and not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset {opset} is not supported: choose {MIN_OPSET}..{MAX_OPSET}")
    payload = load_checkpoint(checkpoint)  # weights_only=True
    resolution = _resolution(payload, checkpoint)
    input_name = checkpoint_input(payload)
    network = model_from_checkpoint(payload)
    with_cam = cam_model(network, resolution, input_name)
    model = with_cam or fuse_for_inference(network)
    model = exportable(model).float().eval()
    outputs = [OUTPUT_NAME, CAM_NAME] if with_cam else [OUTPUT_NAME]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, *get_input(input_name).shape(resolution))
    feed = feed_name(input_name)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")  # no half-written file
    try:
        with torch.no_grad(), warnings.catch_warnings(), _one_line_errors(checkpoint, opset):
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
            # the trace fixes forward's `cells` flag at False, as intended
            warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean")
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=[feed],
                output_names=outputs,
                dynamic_axes={name: {0: "batch"} for name in [feed, *outputs]},
            )
        graph = onnx.load(str(tmp))
        for key, value in _metadata(payload, resolution, input_name, bool(with_cam)).items():
            graph.metadata_props.add(key=METADATA_PREFIX + key, value=value)
        shape = ", ".join(str(v) for v in example.shape[1:])
        graph.doc_string = (
            f"printability {payload['model']}: {feed} (batch, {shape}) float32, made by "
            f"printability.data.inputs.model_input({input_name!r}) from a {resolution}^3 voxel "
            "grid -> logit (batch,); P(printable) = sigmoid(logit)"
        )
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def feed_name(input_name: str) -> str:
    """The ONNX input's name: `voxels` for the occupancy grid, else the input's own name."""
    return INPUT_NAME if input_name == LEGACY_INPUT else input_name


def cam_model(model: nn.Module, resolution: int, input_name: str) -> nn.Module | None:
    """The network with its Grad-CAM as a second output, where the export can carry it, else
    None: a DistNet whose Grad-CAM layer is its last block, or a FastNet whose Grad-CAM layer
    on this input is features.5, on an even grid (N a multiple of 16) so that
    `FastNetWithCam` can route the 2x max-pool's gradient block by block."""
    layer = default_layer(model, input_name)
    if isinstance(model, DistNet) and layer is model.features[-1]:
        return DistNetWithCam(model)
    if isinstance(model, FastNet) and resolution % 16 == 0 and layer is model.features[5]:
        return FastNetWithCam(model)
    return None


def onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The printability metadata of an exported file, JSON values decoded."""
    onnx = _require("onnx")
    graph = onnx.load(str(path), load_external_data=False)
    return {
        p.key.removeprefix(METADATA_PREFIX): json.loads(p.value)
        for p in graph.metadata_props
        if p.key.startswith(METADATA_PREFIX)
    }


def exportable(model: nn.Module) -> nn.Module:
    """`model` with every FastNet stem replaced by its inference form with the phase kernels
    precomputed: the exporter does not fold their construction (a chain of ScatterND ops on
    the weights) into constants."""
    for name, child in model.named_children():
        if isinstance(child, FullResolutionStem) and child.conv.in_channels == 1:
            model._modules[name] = _PhaseStem(child)
        else:
            exportable(child)
    return model


class _PhaseStem(nn.Module):
    """FullResolutionStem's no-grad path (conv3_maxpool2, then BatchNorm + ReLU) with the
    stride-2 phase kernels as a constant."""

    def __init__(self, stem: FullResolutionStem) -> None:
        super().__init__()
        self.register_buffer("kernels", phase_kernels(stem.conv.weight.detach()))
        self.norm = stem.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(phase_conv_max(x.float(), self.kernels)))


def _resolution(payload: dict[str, Any], checkpoint: str | Path) -> int:
    value = (payload.get("data") or {}).get("resolution")
    if not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise ValueError(f"{checkpoint}: checkpoint does not record its grid resolution")
    return int(value)


def _metadata(
    payload: dict[str, Any], resolution: int, input_name: str, with_cam: bool
) -> dict[str, str]:
    """JSON strings: how to preprocess (data, model_input), what the network is, how it was
    trained."""
    spec = get_input(input_name)
    values = {
        "format": FORMAT,
        "model": payload["model"],
        "model_kwargs": payload.get("model_kwargs", {}),
        "resolution": resolution,
        "model_input": input_name,
        "input": {"name": feed_name(input_name), "shape": ["batch", *spec.shape(resolution)],
                  "dtype": "float32", "values": spec.description},
        "output": {"name": OUTPUT_NAME, "shape": ["batch"],
                   "meaning": "logit of P(printable); label 1 = printable"},
        "cam": {"name": CAM_NAME, "shape": ["batch", *[resolution // 8] * 3],
                "meaning": "Grad-CAM of -logit, before upsampling"} if with_cam else None,
        "data": payload.get("data", {}),
        "train_config": payload.get("train_config", {}),
        "checkpoint_format": payload.get("format"),
    }  # fmt: skip
    return {k: json.dumps(v, sort_keys=True) for k, v in values.items()}


@contextmanager
def _one_line_errors(checkpoint: str | Path, opset: int | None) -> Iterator[None]:
    """The exporter's failures (an operator it cannot express) as one line for the CLI."""
    try:
        yield
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = f"opset {opset or 'default'}"
        raise ValueError(f"{checkpoint}: ONNX export failed ({where}): {first}") from exc


def _require(module: str) -> Any:
    """Import an optional dependency, or a one-line error that says how to install it."""
    try:
        return __import__(module)
    except ImportError:
        raise ValueError(
            f"ONNX export needs the {module!r} package: pip install -c constraints.txt "
            "onnx onnxruntime"
        ) from None
