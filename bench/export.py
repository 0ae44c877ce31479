"""Benchmark: onnxruntime against torch for FastNet inference at 64^3 (random weights).

Rows, one batch held in memory, samples/s (higher is better):
  torch fp32          the exported network (BatchNorm folded) under inference_mode
  torch bf16          the same as `evaluate` runs it: bf16 autocast, channels_last_3d
  onnxruntime fp32    the file `printability export` writes, CPUExecutionProvider, all graph
                      optimizations, intra-op threads = cores
The ratio is onnxruntime over the faster torch row. `evaluate`'s target is 500 samples/s.

Run: .venv/bin/python bench/export.py [--batch-size 64] [--resolution 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from printability.config import TrainConfig
from printability.data.inputs import get_input
from printability.inspect.export import export_onnx
from printability.models import create_model, get_model_spec
from printability.models.inference import fuse_for_inference, native_bf16
from printability.train.checkpoint import save_checkpoint


def interleaved(runners: dict[str, Callable[[], object]], batch: int, repeats: int) -> dict:
    """samples/s of each runner, after one warm-up call each; the runners take turns, so that
    load from other processes on the machine hits them alike."""
    for run in runners.values():
        run()
    seconds = dict.fromkeys(runners, 0.0)
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            seconds[name] += time.perf_counter() - start
    return {name: repeats * batch / s for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="fastnet")
    args = parser.parse_args()
    n, b = args.resolution, args.batch_size
    torch.manual_seed(0)
    model = create_model(args.model).eval()
    x = torch.rand(b, *get_input(get_model_spec(args.model).input).shape(n)).round()
    runners: dict[str, Callable[[], object]] = {}

    fused = fuse_for_inference(model)
    runners["torch fp32"] = torch.inference_mode()(lambda: fused(x))
    if native_bf16(torch.device("cpu")):
        last = copy.deepcopy(fused).to(memory_format=torch.channels_last_3d)
        x_last = x.to(memory_format=torch.channels_last_3d)

        @torch.inference_mode()
        def bf16() -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return last(x_last)

        runners["torch bf16"] = bf16

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        checkpoint = tmp / "model.pt"
        save_checkpoint(checkpoint, model, TrainConfig(model=args.model), {"resolution": n})
        start = time.perf_counter()
        onnx_path = export_onnx(checkpoint, tmp / "model.onnx")
        export_seconds = time.perf_counter() - start
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = os.cpu_count() or 1
        session = ort.InferenceSession(str(onnx_path), options, ["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x.numpy()}
        runners["onnxruntime fp32"] = lambda: session.run(None, feed)
        rows = interleaved(runners, b, args.repeats)
        (got,) = session.run(None, feed)
    with torch.inference_mode():
        diff = float(np.abs(got - fused(x).numpy()).max())

    print(f"{args.model} at {n}^3, batch {b}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}; export took {export_seconds:.1f} s")  # fmt: skip
    for name, rate in rows.items():
        print(f"  {name:<18}{rate:>9.1f} samples/s")
    best_torch = max(v for k, v in rows.items() if k.startswith("torch"))
    print(f"  ratio onnxruntime / best torch: {rows['onnxruntime fp32'] / best_torch:.2f}")
    print(f"  max |logit difference| onnxruntime vs torch fp32: {diff:.2e}")


if __name__ == "__main__":
    main()
