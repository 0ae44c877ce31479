"""Benchmark: large parts checked in windows at the process's pitch against fitted to the
model's grid (issue 5, item 6).

Four 200 x 100 x 12 mm plates whose answer for FDM (2 mm holes, 1.2 mm walls) is known: plain;
two 10 mm bolt holes and an M3 clearance hole of 3.2 mm (printable); a 1.2 mm pinhole (not);
a 10 mm hole 1 mm under an edge (a thin wall: not). Each is checked with `--pitch fit` (the
whole plate in 64^3: 3.6 mm voxels) and `--pitch auto` (here the process's pitch, 0.22 mm, in
overlapping 64^3 windows). Printed: verdicts, how far the reported location is from the
defect (the Grad-CAM peak, else the rules' place), windows, and seconds per part (the ratio
auto / fit is the cost of the fine pitch).

Run: .venv/bin/python bench/large_parts.py [--checkpoint CKPT] [--out out/bench/large_parts]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import manifold3d
import numpy as np
import trimesh

from printability.inspect.check import Checker

PLATE_MM = (200.0, 100.0, 12.0)
# name -> (holes as (x, y, radius) mm, printable for FDM, the defect's (x, y) or None)
PLATES: dict[str, tuple[list[tuple[float, float, float]], bool, tuple[float, float] | None]] = {
    "plain": ([], True, None),
    "bolt_and_m3_holes": ([(-60.0, 0.0, 5.0), (60.0, 0.0, 5.0), (0.0, 20.0, 1.6)], True, None),
    "pinhole_1.2mm": ([(-50.0, -20.0, 0.6)], False, (-50.0, -20.0)),
    "thin_wall_1mm": ([(60.0, 44.0, 5.0)], False, (60.0, 49.5)),
}


def plate(holes: list[tuple[float, float, float]]) -> trimesh.Trimesh:
    """The plate, centred on the origin, drilled through along z."""
    solid = manifold3d.Manifold.cube(PLATE_MM, center=True)
    for x, y, r in holes:
        drill = manifold3d.Manifold.cylinder(50, r, r, 64, center=True)
        solid = solid - drill.translate((x, y, 0))
    mesh = solid.to_mesh()
    return trimesh.Trimesh(mesh.vert_properties[:, :3], mesh.tri_verts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("out/bench/large_parts"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (holes, _, _) in PLATES.items():
        paths.append(args.out / f"{name}.stl")
        plate(holes).export(paths[-1])
    header = ("part", "pitch", "voxel mm", "windows", "verdict", "right", "location error mm",
              "hole mm", "wall mm", "s")  # fmt: skip
    print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    seconds = {}
    for mode in ("fit", "auto"):
        checker = Checker(args.checkpoint, process="fdm", pitch=mode)
        checker.check_file(paths[0])  # warm-up: first calls allocate
        start = time.perf_counter()
        rows = checker.check_paths(paths, progress=False)
        seconds[mode] = time.perf_counter() - start
        right = 0
        for row, (name, (_, printable, defect)) in zip(rows, PLATES.items(), strict=True):
            right += row.printable is printable
            error = "-"
            where = row.suspect_mm or row.hole_at_mm or row.wall_at_mm  # Grad-CAM, else rules
            if defect is not None and where is not None:
                error = f"{np.hypot(where[0] - defect[0], where[1] - defect[1]):.1f}"
            hole = "-" if row.min_hole_diameter_mm is None else f"{row.min_hole_diameter_mm:.2f}"
            wall = "-" if row.min_wall_mm is None else f"{row.min_wall_mm:.2f}"
            verdict = "printable" if row.printable else "NOT printable"
            print(f"| {name} | {mode} | {row.pitch_mm} | {row.windows} | {verdict} | "
                  f"{'yes' if row.printable is printable else 'NO'} | {error} | {hole} | {wall} | "
                  f"{row.seconds:.2f} |")  # fmt: skip
        print(f"| **all 4** | {mode} | | | {right}/4 right | | | | | {seconds[mode]:.2f} |")
    print(f"\nauto / fit time: {seconds['auto'] / seconds['fit']:.1f}x "
          f"({seconds['auto'] / len(paths):.2f} s per 200 mm part at the fine pitch)")  # fmt: skip


if __name__ == "__main__":
    main()
