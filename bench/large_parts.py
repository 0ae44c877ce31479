"""Benchmark: large parts checked at the process's pitch, every window judged (the path before
the ray screen) against only the windows the ray screen picks (geometry/screen.py), and
fitted to the model's grid for scale.

Four 250 x 120 x 16 mm plates whose answer for FDM (2 mm holes, 1.2 mm walls) is known: plain;
two 10 mm bolt holes and an M3 clearance hole of 3.2 mm (printable); a 1.2 mm pinhole (not);
a 10 mm hole 1 mm under an edge (a thin wall: not). Each is checked with `--pitch fit` (the
whole plate in 64^3: 4 mm voxels), and at the process's pitch in overlapping 64^3 windows,
all of them ("all windows") or the screened ones ("screened", the default). Printed: verdicts,
how far the reported location is from the defect (the Grad-CAM peak, else the rules' place),
windows judged, and seconds per part; last, the ratio all windows / screened. `--folder DIR`
times the two windowed paths on your own meshes too (median and largest seconds per part).

Run: .venv/bin/python bench/large_parts.py [--checkpoint CKPT] [--out out/bench/large_parts]
     [--folder DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import manifold3d
import numpy as np
import trimesh

from printability.inspect.check import Checker

PLATE_MM = (250.0, 120.0, 16.0)
# name -> (holes as (x, y, radius) mm, printable for FDM, the defect's (x, y) or None)
PLATES: dict[str, tuple[list[tuple[float, float, float]], bool, tuple[float, float] | None]] = {
    "plain": ([], True, None),
    "bolt_and_m3_holes": ([(-60.0, 0.0, 5.0), (60.0, 0.0, 5.0), (0.0, 20.0, 1.6)], True, None),
    "pinhole_1.2mm": ([(-50.0, -20.0, 0.6)], False, (-50.0, -20.0)),
    "thin_wall_1mm": ([(60.0, 54.0, 5.0)], False, (60.0, 59.5)),
}


PATHS = {"fit": ("fit", True), "all windows": ("auto", False), "screened": ("auto", True)}


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
    parser.add_argument("--folder", type=Path, default=None, help="real meshes to time too")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (holes, _, _) in PLATES.items():
        paths.append(args.out / f"{name}.stl")
        plate(holes).export(paths[-1])
    header = ("part", "path", "voxel mm", "windows", "verdict", "right", "location error mm",
              "hole mm", "wall mm", "s")  # fmt: skip
    print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    seconds = {}
    for path_name, (mode, screen) in PATHS.items():
        checker = Checker(args.checkpoint, process="fdm", pitch=mode, screen=screen)
        checker.check_file(paths[0])  # warm-up: first calls allocate
        start = time.perf_counter()
        rows = checker.check_paths(paths, progress=False)
        seconds[path_name] = time.perf_counter() - start
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
            print(f"| {name} | {path_name} | {row.pitch_mm} | {row.windows} | {verdict} | "
                  f"{'yes' if row.printable is printable else 'NO'} | {error} | {hole} | {wall} | "
                  f"{row.seconds:.2f} |")  # fmt: skip
        print(
            f"| **all 4** | {path_name} | | | {right}/4 right | | | | | {seconds[path_name]:.2f} |"
        )
    ratio = seconds["all windows"] / seconds["screened"]
    print(f"\nall windows / screened: {ratio:.1f}x "
          f"({seconds['screened'] / len(paths):.2f} s per 250 mm plate screened, "
          f"{seconds['all windows'] / len(paths):.2f} s with every window)")  # fmt: skip
    if args.folder:
        time_folder(args.folder, args.checkpoint)


def time_folder(folder: Path, checkpoint: Path | None) -> None:
    """Seconds per part of both windowed paths on a folder of meshes (units auto), and how
    often their verdicts and the rules' sizes agree."""
    verdicts = {}
    for path_name, (mode, screen) in list(PATHS.items())[1:]:
        rows = Checker(checkpoint, process="fdm", pitch=mode, screen=screen).check_paths(
            [folder], progress=True
        )
        done = [r for r in rows if r.error is None]
        times = np.array([r.seconds for r in done])
        verdicts[path_name] = {r.file: (r.printable, r.problems) for r in done}
        print(f"{folder} {path_name}: {len(done)} of {len(rows)} judged, s per part median "
              f"{np.median(times):.2f}, largest {times.max():.2f}, total {times.sum():.1f}; "
              f"{sum(not r.printable for r in done)} not printable; windows judged "
              f"{sum(r.windows for r in done)}")  # fmt: skip
    both = verdicts["all windows"].keys() & verdicts["screened"].keys()
    same = sum(verdicts["all windows"][f][0] == verdicts["screened"][f][0] for f in both)
    sizes = sum(verdicts["all windows"][f][1] == verdicts["screened"][f][1] for f in both)
    print(f"same verdict on {same} of {len(both)}, same rule problems on {sizes} of {len(both)}")


if __name__ == "__main__":
    main()
