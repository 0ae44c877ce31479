"""Benchmark: the Grad-CAM pointing game (target: >= 90% hits for the default model).

For every non-printable sample (label 0) of a split, the peak of the 3D Grad-CAM of the
evidence against printability (printability/inspect/gradcam.py) is a hit when its distance to
the carved hole's axis LINE (the infinite line through hole_center along hole_axis) is at most
2 * hole_radius_vox. Voxel i's centre is at i + 0.5 in the manifest's hole coordinates
(geometry/measure.py: hole_mask), so peaks are shifted by half a voxel before measuring.

One row per target layer and peak rule: hit rate overall and per defect class (small_hole,
thin_wall), and the median milliseconds per sample (one sample at a time, as `check` runs;
Grad-CAM plus the default peak; the other peak rules reuse the same heatmap). A layer
argument "a+b" multiplies the maps of layers a and b (grad_cam with a list of layers).

Run: .venv/bin/python bench/explain.py --checkpoint printability/assets/distnet64.pt --data D
     [--split test] [--limit 0] [--layer features.5 --layer features.1+features.5 ...] [--sweep]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch

from printability.data import open_dataset
from printability.inspect.gradcam import PEAK_TOP_FRACTION, default_layer, grad_cam, peak
from printability.train.checkpoint import (
    checkpoint_input,
    load_checkpoint,
    model_from_checkpoint,
)

# peak rules compared: name -> top_fraction for `peak` (0 = argmax)
PEAK_RULES = {
    "argmax": 0.0,
    "centroid top 0.5%": 0.005,
    "centroid top 2%": 0.02,
    "centroid top 5%": 0.05,
    "centroid top 10%": 0.1,
}
assert PEAK_TOP_FRACTION in PEAK_RULES.values()


def distance_to_axis(point: np.ndarray, center: np.ndarray, axis: np.ndarray) -> float:
    """Distance from a point to the infinite line through `center` along `axis`."""
    axis = axis / np.linalg.norm(axis)
    rel = point - center
    return float(np.linalg.norm(rel - rel.dot(axis) * axis))


def hole_of(record: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """(centre, axis, radius) of a sample's hole, in the manifest's voxel coordinates."""
    center = np.array([float(record[f"hole_center_{a}"]) for a in "xyz"])
    axis = np.array([float(record[f"hole_axis_{a}"]) for a in "xyz"])
    return center, axis, float(record["hole_radius_vox"])


def sweep_layers(model: torch.nn.Module) -> list[str]:
    """Every conv block of the model (modules holding a Conv3d, no wider container)."""
    names = []
    for name, module in model.named_children():
        for sub_name, sub in module.named_children():
            if any(isinstance(m, torch.nn.Conv3d) for m in sub.modules()):
                names.append(f"{name}.{sub_name}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="at most this many samples (0: all)")
    parser.add_argument("--layer", action="append", help="target layer name(s); default: auto")
    parser.add_argument("--sweep", action="store_true", help="try every conv block as layer")
    args = parser.parse_args()

    torch.manual_seed(0)
    payload = load_checkpoint(args.checkpoint)
    model, input_name = model_from_checkpoint(payload), checkpoint_input(payload)
    data = open_dataset(args.data)
    rows = [
        i for i, r in enumerate(data.records) if r["split"] == args.split and int(r["label"]) == 0
    ]
    if args.limit:
        rows = rows[: args.limit]
    if not rows:
        raise SystemExit(f"{args.data}: no non-printable samples in split {args.split!r}")
    resolution = data[rows[0]][0].shape[0]
    names = {m: n for n, m in model.named_modules()}
    auto = names[default_layer(model, input_name)]
    layers = sweep_layers(model) if args.sweep else (args.layer or [auto])
    print(f"{len(rows)} non-printable {args.split} samples at {resolution}^3; "
          f"model {type(model).__name__}; default layer {auto}")  # fmt: skip

    header = f"{'layer':<22} {'peak rule':<20} {'hits':>7} {'small_hole':>11} {'thin_wall':>10}"
    print(f"{header} {'ms/sample':>10}")
    for layer in layers:
        hits: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        seconds = []
        target = layer.split("+")
        grad_cam(model, data[rows[0]][0], target, input_name)  # warm-up
        for i in rows:
            voxels, record = data[i]
            start = time.perf_counter()
            heat = grad_cam(model, voxels, target, input_name)
            peak(heat)
            seconds.append(time.perf_counter() - start)
            center, axis, radius = hole_of(record)
            for rule, fraction in PEAK_RULES.items():
                point = np.array(peak(heat, fraction)) + 0.5
                hit = distance_to_axis(point, center, axis) <= 2 * radius
                hits[rule]["all"].append(hit)
                hits[rule][record["defect"]].append(hit)
        ms = 1000 * float(np.median(seconds))
        for rule, by_class in hits.items():
            rate = {k: f"{100 * np.mean(v):.1f}%" if v else "-" for k, v in by_class.items()}
            print(
                f"{layer:<22} {rule:<20} {rate['all']:>7} {rate.get('small_hole', '-'):>11} "
                f"{rate.get('thin_wall', '-'):>10} {ms:>10.1f}"
            )


if __name__ == "__main__":
    main()
