"""Benchmark: the `edt` package against scipy's distance transform, on the grids the generator
measures (base parts fitted to 64^3, and the bigger grids of window parts). Same distances,
timed in one run, with the ratio.

Run: .venv/bin/python bench/distance_transform.py [--parts 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage

from printability.config import GenerateConfig
from printability.data.generate import PartRejected, procedural_base
from printability.geometry.morphology import distance_to_outside


def timed(fn, grids: list[np.ndarray]) -> float:
    """Seconds per grid for `fn` over `grids` (one warm-up call first)."""
    fn(grids[0])
    start = time.perf_counter()
    for grid in grids:
        fn(grid)
    return (time.perf_counter() - start) / len(grids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=20)
    args = parser.parse_args()
    print("| grids | voxels | scipy ms | edt ms | ratio | same distances |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, config in (("fitted 64^3", GenerateConfig()),
                         ("window parts", GenerateConfig(window_fraction=1.0))):  # fmt: skip
        grids = []
        for i in range(args.parts):
            try:
                grids.append(procedural_base(i, config, np.random.default_rng(i)).solid)
            except PartRejected:
                continue
        same = all(np.array_equal(ndimage.distance_transform_edt(g).astype(np.float32),
                                  distance_to_outside(g)) for g in grids)  # fmt: skip
        slow = timed(ndimage.distance_transform_edt, grids)
        fast = timed(distance_to_outside, grids)
        voxels = int(np.mean([g.size for g in grids]))
        print(f"| {name} ({len(grids)}) | {voxels:,} | {1000 * slow:.1f} | {1000 * fast:.1f} | "
              f"{slow / fast:.1f}x | {same} |")  # fmt: skip


if __name__ == "__main__":
    main()
