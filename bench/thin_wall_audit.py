"""Audit: how large the thin patch of each test thin wall is, against which thin walls models miss.

A sample is `thin_wall` when its thinnest wall ray (docs/labels.md: 48 rays per cross-section,
cross-sections every 0.5 voxel) is <= b_np over a patch at least b_p voxels long along the hole
or around it; thinner spots are rejected as "thin spot". This re-measures, per test
`thin_wall` sample, how many rays are that thin and the patch's extent (on its `no_defect`
twin: the same part without the hole), and tabulates, per count bucket, how many samples each
model in an evaluate run's predictions.csv gets right.

Run: .venv/bin/python bench/thin_wall_audit.py --data D --predictions REPORT/predictions.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from printability.config import Preset
from printability.data import open_dataset
from printability.data.defects import rim_margin, wall_cap
from printability.geometry import measure

BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 30), (31, 10**6))


def thin_rays(base: np.ndarray, record: dict, th: Preset) -> tuple[int, float]:
    """Rays of the label's wall measurement whose wall is <= b_np, and the largest patch's
    extent in voxels."""
    center = np.array([record[f"hole_center_{a}"] for a in "xyz"])
    axis = np.array([record[f"hole_axis_{a}"] for a in "xyz"])
    hole = measure.Hole(center, axis, record["hole_radius_vox"])
    walls = measure.ray_walls(base, hole, rim_margin(hole.radius, th), wall_cap(th))
    thin = np.nan_to_num(walls, nan=np.inf) <= th.b_np
    return int(thin.sum()), measure.thin_patch_extent(thin, hole.radius)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="evaluate's CSV")
    args = parser.parse_args()
    ds = open_dataset(args.data)
    th = Preset(**ds.info["thresholds"])
    index = {r["sample_id"]: i for i, r in enumerate(ds.records)}
    with open(args.predictions, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["defect"] == "thin_wall"]
    models = [c for c in rows[0] if c.startswith("p_")] if rows else []
    counted = []
    for row in rows:
        _, record = ds[index[row["sample_id"]]]
        base, _ = ds[index[row["sample_id"].replace("thin_wall", "no_defect")]]
        count, extent = thin_rays(base, record, th)
        counted.append((count, extent, {m: float(row[m]) < 0.5 for m in models}))
    print("| thin rays | samples | smallest patch (voxels) | "
          + " | ".join(f"{m[2:]} right" for m in models) + " |")  # fmt: skip
    print("| --- | ---: | ---: |" + " ---: |" * len(models))
    for low, high in BUCKETS:
        chosen = [(e, right) for count, e, right in counted if low <= count <= high]
        if chosen:
            cells = " | ".join(str(sum(r[m] for _, r in chosen)) for m in models)
            smallest = min(e for e, _ in chosen)
            label = f"{low}-{high if high < 10**6 else 'more'}"
            print(f"| {label} | {len(chosen)} | {smallest:.1f} | {cells} |")


if __name__ == "__main__":
    main()
