"""Benchmark: how much of a folder of real meshes `generate --source` can use, why it drops the
rest, and how fast it makes samples from it.

Point it at any folder of meshes (unit-less STL exported in metres is common for robot
descriptions; --units auto reads them so). It runs `generate` once with the given workers and
prints the share of files used, the reasons the rest were not, and samples per second.

Run: .venv/bin/python bench/folder_yield.py FOLDER [--units auto] [--count 1200] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from printability.config import GenerateConfig
from printability.data.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--units", default="auto")
    parser.add_argument("--count", type=int, default=1200, help="samples asked (4 per file)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("out/bench/folder_yield"))
    args = parser.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    config = GenerateConfig(source=str(args.folder), count=args.count, units=args.units)
    summary = generate(config, args.out, workers=args.workers, progress=False)
    used, tried = summary["parts_used"], summary["parts_tried"]
    print(f"\n{args.folder}: used {used} of {tried} mesh files ({100 * used / tried:.0f}%), "
          f"{summary['samples_made']} samples in {summary['seconds']:.0f} s: "
          f"{summary['samples_per_second']} samples/s with {args.workers} workers")  # fmt: skip
    with open(args.out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    zoomed = {r["source"] for r in rows if "window_grid" in json.loads(r["part_params"])}
    print(f"{len(zoomed)} of the {used} files used were zoomed in and cut into windows")
    print("| why a file was not used | files |")
    print("| --- | ---: |")
    for cause, n in summary["drop_causes"].items():
        print(f"| {cause} | {n} |")


if __name__ == "__main__":
    main()
