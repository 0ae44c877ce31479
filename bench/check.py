"""Benchmark: `printability check` end to end, as a user runs it (targets: one STL of about
100,000 triangles in <= 2 s wall, start of the command included; a folder of 100 parts at >= 20
parts/s).

Rows, each a fresh `python -m printability check ...` process timed from outside:
  - baselines: `python -c "import torch"` (what `check` does not pay: it runs the shipped
    ONNX export, Grad-CAM included, on onnxruntime) and the import of `printability.inspect.check`
    (the start-up it does pay)
  - one 100,000-triangle STL (a cylinder with 25,000 sections, 40 x 40 x 30 mm)
  - a folder of 100 parts (25 copies of each example part: plain, wide hole, narrow hole, thin
    wall, so Grad-CAM runs for half of them), with and without --no-explain

Run: .venv/bin/python bench/check.py [--out out/bench/check]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import trimesh

from printability.inspect.samples import write_examples


def wall_seconds(args: list[str]) -> float:
    """Wall time of one fresh process (its output is discarded; any exit code is fine)."""
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/bench/check"))
    args = parser.parse_args()
    big = args.out / "cylinder_100k.stl"
    folder = args.out / "folder100"
    args.out.mkdir(parents=True, exist_ok=True)
    cylinder = trimesh.creation.cylinder(radius=20, height=30, sections=25_000)
    cylinder.export(big)
    if folder.exists():
        shutil.rmtree(folder)
    examples = write_examples(args.out / "examples")
    for k in range(25):
        for path in examples:
            target = folder / f"{k:02d}" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)

    check = [sys.executable, "-m", "printability", "check", "--no-progress"]
    torch_import = min(wall_seconds([sys.executable, "-c", "import torch"]) for _ in range(2))
    startup = min(
        wall_seconds([sys.executable, "-c", "import printability.inspect.check"]) for _ in range(2)
    )
    one = min(wall_seconds([*check, str(big)]) for _ in range(2))
    hundred = wall_seconds([*check, str(folder)])
    hundred_fast = wall_seconds([*check, "--no-explain", str(folder)])
    print(f"| what | wall s | figure |\n| --- | ---: | --- |")  # noqa: F541
    print(f"| `import torch` alone (baseline) | {torch_import:.2f} | |")
    print(f"| `import printability.inspect.check` (start-up) | {startup:.2f} | |")
    print(f"| one STL, {len(cylinder.faces):,} triangles | {one:.2f} | "
          f"{one / torch_import:.2f}x a bare `import torch`; target <= 2 s |")  # fmt: skip
    print(f"| folder of 100 parts | {hundred:.2f} | {100 / hundred:.1f} parts/s "
          f"({100 / max(hundred - startup, 1e-9):.1f} after start-up); target >= 20 |")  # fmt: skip
    print(f"| the same, --no-explain | {hundred_fast:.2f} | {100 / hundred_fast:.1f} parts/s |")


if __name__ == "__main__":
    main()
