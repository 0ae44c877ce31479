"""The network behind `check`: onnxruntime where an exported model is at hand, torch otherwise.

Importing torch takes much of the 2 s budget of checking one STL, while onnxruntime imports
quickly and runs the exported network faster than torch on a CPU (bench/export.py). So the
shipped model comes as both files: `check` judges with the .onnx, which also returns the
Grad-CAM (export.cam_model), and never imports torch. A `--checkpoint x.pt` is judged and
explained with torch; a `--checkpoint x.onnx` with onnxruntime, explained only if it carries a
Grad-CAM. Both read the checkpoint's "data" record (voxel config and thresholds): the .onnx from
the metadata `printability export` wrote.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from printability.data.inputs import LEGACY_INPUT

METADATA_PREFIX = "printability."  # the keys inspect/export.py writes into an ONNX file


class Network(Protocol):
    """What `Checker` needs from a model: its data record, the input it reads (data/inputs.py),
    and for a batch of inputs (each (C, n, n, n), made by data.inputs from a voxel grid)
    P(printable) and, where the model carries it, each input's coarse Grad-CAM (else None)."""

    data: dict[str, Any]
    input_name: str

    def run(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]: ...


class OnnxNetwork:
    """An exported model (`printability export`) run by onnxruntime on the CPU."""

    def __init__(self, path: str | Path) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ValueError(f"{path}: running an ONNX model needs onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(f"{path}: not a readable ONNX model ({first})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.data: dict[str, Any] = json.loads(meta.get(f"{METADATA_PREFIX}data", "{}"))
        input_key = f"{METADATA_PREFIX}model_input"
        self.input_name: str = json.loads(meta[input_key]) if input_key in meta else LEGACY_INPUT
        self.feed_name = self.session.get_inputs()[0].name
        self.has_cam = len(self.session.get_outputs()) > 1  # export.cam_model

    def run(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """P(printable) for a batch of network inputs, each (C, n, n, n), and their coarse
        Grad-CAMs (batch, N/8, N/8, N/8) when the export carries them."""
        x = np.stack(inputs).astype(np.float32)
        outputs = self.session.run(None, {self.feed_name: x})
        logits = np.asarray(outputs[0], np.float64).reshape(-1)
        return 1.0 / (1.0 + np.exp(-logits)), (outputs[1] if self.has_cam else None)


class TorchNetwork:
    """A checkpoint (`best.pt`) with BatchNorm folded, channels-last, bf16 where native."""

    def __init__(self, path: str | Path) -> None:
        import torch

        from printability.models.inference import fuse_for_inference
        from printability.train.checkpoint import (
            checkpoint_input,
            load_checkpoint,
            model_from_checkpoint,
        )

        payload = load_checkpoint(path)  # weights_only=True
        self.data: dict[str, Any] = payload.get("data", {})
        self.input_name = checkpoint_input(payload)
        self.model = model_from_checkpoint(payload)
        self.fused = fuse_for_inference(self.model).to(memory_format=torch.channels_last_3d)

    def run(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, None]:
        """P(printable) for a batch of network inputs, each (C, n, n, n); Grad-CAM is the
        caller's."""
        import torch

        from printability.models.inference import native_bf16

        x = torch.from_numpy(np.stack(inputs).astype(np.float32))
        x = x.contiguous(memory_format=torch.channels_last_3d)
        bf16 = native_bf16(torch.device("cpu"))
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return torch.sigmoid(self.fused(x).float()).numpy().astype(np.float64), None


def open_network(path: str | Path) -> Network:
    """An OnnxNetwork for a .onnx file, else a TorchNetwork; a missing file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    return OnnxNetwork(path) if path.suffix.lower() == ".onnx" else TorchNetwork(path)
