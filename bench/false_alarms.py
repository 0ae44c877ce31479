"""Benchmark: how often the network alone fails a plain part, per process.

Plain parts are the built-in generator's base parts, of every family, without any added
defect (`printability parts`). Each is checked for each process, fitted to the model's grid
as the model was trained (`--pitch fit`) and in windows at the process's pitch (`--pitch
process`, what `check` does with a part too large to fit). Of the parts the rules clear (no
hole or wall under the process's limits, measured on the mesh), the network fails some
(P(printable) under the process's threshold). It is right to where the rays find a wall or
gap under the limits at its suspect spot (one the rules' voxels were too coarse to see:
"explained"); the rest are false alarms. Printed per process and path: parts the rules
clear, the network's objections to them, explained and not, and the 5th percentile of P on
cleared parts (where a threshold would cut 5% of them).

Run: .venv/bin/python bench/false_alarms.py [--per-family 3] [--seed 7]
     [--out out/bench/false_alarms] [--processes fdm sla ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from printability.config import GenerateConfig
from printability.data.generate import write_part_stl
from printability.geometry.parts import PART_KINDS
from printability.inspect.check import Checker
from printability.inspect.processes import PROCESSES, get_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-family", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("out/bench/false_alarms"))
    parser.add_argument("--processes", nargs="+", default=list(PROCESSES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = GenerateConfig(seed=args.seed)
    paths = []
    for kind in PART_KINDS:
        for i in range(args.per_family):
            paths.append(args.out / f"{kind}-{i}.stl")
            if not paths[-1].exists():
                write_part_stl(config, i, paths[-1], kind)
    print(f"{len(paths)} plain parts, {args.per_family} per family, seed {args.seed}\n")
    header = ("process", "pitch", "threshold", "cleared by rules", "in windows",
              "network objects", "explained by rays", "false alarms", "P 5th pct",
              "s per part")  # fmt: skip
    print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    for name in args.processes:
        process = get_process(name)
        for pitch in ("fit", "process"):
            checker = Checker(process=process, pitch=pitch)
            rows = [r for r in checker.check_paths(paths, progress=True) if r.error is None]
            cleared = [r for r in rows if r.process_ok]
            p = np.array([r.probability for r in cleared])
            windowed = sum(r.windows > 1 or r.windows_skipped > 0 for r in cleared)
            objected = [r for r in cleared if not r.network_printable]
            explained = sum(under_limits_at_spot(r) for r in objected)
            alarms = len(objected) - explained
            seconds = np.mean([r.seconds for r in rows])
            print(f"| {name} | {pitch} | {checker.threshold:.3f} | {len(cleared)} of {len(rows)} "
                  f"| {windowed} | {len(objected)} | {explained} | "
                  f"{alarms} ({alarms / max(len(p), 1):.1%}) | {np.percentile(p, 5):.3f} | "
                  f"{seconds:.2f} |", flush=True)  # fmt: skip


def under_limits_at_spot(row) -> bool:
    """Whether the rays found a wall or a gap under the process's limits at the network's
    suspect spot."""
    wall, gap = row.suspect_wall_mm, row.suspect_gap_mm
    return (wall is not None and wall < row.wall_limit_mm) or (
        gap is not None and gap < row.hole_limit_mm
    )


if __name__ == "__main__":
    main()
