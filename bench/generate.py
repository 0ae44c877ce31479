"""Benchmark: end-to-end dataset generation from procedural parts at 64^3.

Prints samples/s with 1 worker (the baseline, same run) and with --workers, their ratio, and
the disk use per sample extrapolated to a 100,000-sample dataset.
Run: .venv/bin/python bench/generate.py [--count 800] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from printability.config import GenerateConfig, VoxelConfig
from printability.data.generate import generate


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = GenerateConfig(count=args.count, seed=args.seed, voxel=VoxelConfig(args.resolution))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in sorted({1, args.workers}):
            out = Path(tmp) / f"w{workers}"
            summary = generate(config, out, workers=workers, progress=False)
            results[workers] = summary
            print(
                f"workers {workers}: {summary['samples_made']} samples in {summary['seconds']} s "
                f"= {summary['samples_per_second']} samples/s; "
                f"dropped parts {summary['dropped_parts']}"
            )
        size = disk_bytes(out)
        per_sample = size / max(results[args.workers]["total_samples"], 1)
    base = results[1]["samples_per_second"]
    fast = results[args.workers]["samples_per_second"]
    print(
        f"\ngenerate at {args.resolution}^3: {fast} samples/s with {args.workers} workers "
        f"({fast / base:.2f}x the 1-worker baseline of {base} samples/s)"
    )
    print(
        f"disk: {per_sample / 1e3:.1f} kB/sample -> "
        f"{per_sample * 1e5 / 1e9:.2f} GB per 100,000 samples"
    )
    print(f"classes: {results[args.workers]['by_class']}")


if __name__ == "__main__":
    main()
