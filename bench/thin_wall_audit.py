"""Audit: how many of the label's wall rays are thin, against which thin walls models miss.

A sample is `thin_wall` when its thinnest wall ray (docs/labels.md: 48 rays per cross-section,
cross-sections every 0.5 voxel) is <= b_np. This counts, per test `thin_wall` sample, how many
rays are that thin, re-measured on its `no_defect` twin (the same part without the hole), and
tabulates, per count bucket, how many samples each model in an evaluate run's predictions.csv
gets right. A wall thin along one or two rays is a spot of about a voxel, not a sheet.

Run: .venv/bin/python bench/thin_wall_audit.py --data D --predictions REPORT/predictions.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from printability.data import open_dataset
from printability.geometry import measure

BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 30), (31, 10**6))


def thin_ray_count(base: np.ndarray, record: dict, thin: float, rim_extra: float) -> int:
    """Rays of the label's wall measurement (away from the rims) whose wall is <= `thin`."""
    center = np.array([record[f"hole_center_{a}"] for a in "xyz"])
    axis = np.array([record[f"hole_axis_{a}"] for a in "xyz"])
    hole = measure.Hole(center, axis, record["hole_radius_vox"])
    t = measure._axis_samples(base.shape, hole)
    axis_points = hole.center + t[:, None] * hole.axis
    u, v = measure.orthonormal_basis(hole.axis)
    angles = np.linspace(0, 2 * np.pi, measure.N_ANGLES, endpoint=False)
    rays = np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v
    radii = hole.radius + measure.S_STEP * np.arange(1, int(thin / measure.S_STEP) + 3)
    surface = measure.occupied(base, axis_points[:, None, :] + radii[0] * rays[None])
    rim_steps = int(round((hole.radius + rim_extra) / measure.T_STEP))
    section, ray = np.nonzero(measure._away_from_rims(surface, rim_steps))
    points = axis_points[section, None, :] + radii[None, :, None] * rays[ray, None, :]
    leaves = ~measure.occupied(base, points)
    first_out = np.where(leaves.any(axis=1), leaves.argmax(axis=1), len(radii))
    return int((first_out * measure.S_STEP <= thin).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="evaluate's CSV")
    args = parser.parse_args()
    ds = open_dataset(args.data)
    thresholds = ds.info["thresholds"]
    index = {r["sample_id"]: i for i, r in enumerate(ds.records)}
    with open(args.predictions, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["defect"] == "thin_wall"]
    models = [c for c in rows[0] if c.startswith("p_")] if rows else []
    counted = []
    for row in rows:
        _, record = ds[index[row["sample_id"]]]
        base, _ = ds[index[row["sample_id"].replace("thin_wall", "no_defect")]]
        count = thin_ray_count(base, record, thresholds["b_np"], thresholds["b_p"])
        counted.append((count, {m: float(row[m]) < 0.5 for m in models}))
    print("| thin rays | samples | " + " | ".join(f"{m[2:]} right" for m in models) + " |")
    print("| --- | ---: |" + " ---: |" * len(models))
    for low, high in BUCKETS:
        chosen = [right for count, right in counted if low <= count <= high]
        if chosen:
            cells = " | ".join(str(sum(r[m] for r in chosen)) for m in models)
            print(f"| {low}-{high if high < 10**6 else 'more'} | {len(chosen)} | {cells} |")


if __name__ == "__main__":
    main()
