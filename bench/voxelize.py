"""Benchmark: our voxelizer (signed crossings per column) against trimesh's, at 64^3.

Prints, per mesh, both times, the speed ratio, and the IoU of our grid against trimesh's
`contains` evaluated on every voxel centre (the ground truth for a solid occupancy grid).
Run: .venv/bin/python bench/voxelize.py [--resolution 64] [--meshes 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import trimesh

from printability.config import GenerateConfig, VoxelConfig
from printability.data.generate import part_limits
from printability.geometry.parts import make_part
from printability.geometry.voxelize import voxelize


def best_of(fn, repeats: int) -> float:
    """Fastest of a few runs: the least noisy estimate on a shared machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def contains_in_chunks(mesh: trimesh.Trimesh, points: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """trimesh's exact inside test, a chunk at a time (all at once runs out of memory)."""
    return np.concatenate(
        [mesh.contains(points[i : i + chunk]) for i in range(0, len(points), chunk)]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--meshes", type=int, default=4)
    args = parser.parse_args()
    config = VoxelConfig(resolution=args.resolution)
    limits = part_limits(GenerateConfig(voxel=config))
    rng = np.random.default_rng(0)
    meshes = [make_part(np.random.default_rng([7, i]), limits) for i in range(args.meshes)]
    # dense curved surfaces too: many triangles per voxel column
    meshes.append(
        (trimesh.creation.torus(40, 12, major_sections=128, minor_sections=64), {"kind": "torus"})
    )
    meshes.append((trimesh.creation.icosphere(subdivisions=4, radius=40), {"kind": "icosphere"}))
    rows = []
    for mesh, params in meshes:
        mesh.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
        grid, placement = voxelize(mesh, config)
        ours = best_of(lambda m=mesh: voxelize(m, config), 5)
        pitch = placement.pitch_mm
        theirs = best_of(lambda m=mesh, p=pitch: m.voxelized(p).fill(), 1)
        n = args.resolution
        centres = placement.to_mm(np.argwhere(np.ones((n, n, n), bool)) + 0.5)
        truth = contains_in_chunks(mesh, centres).reshape(n, n, n)
        iou = (grid & truth).sum() / max((grid | truth).sum(), 1)
        rows.append((params["kind"], len(mesh.faces), ours, theirs, theirs / ours, iou))
        print(
            f"{params['kind']:<14} faces {len(mesh.faces):>6}  ours {ours * 1e3:7.1f} ms  "
            f"trimesh fill {theirs * 1e3:8.1f} ms  ratio {theirs / ours:6.1f}x  IoU {iou:.4f}"
        )
    ratios = np.array([r[4] for r in rows])
    ious = np.array([r[5] for r in rows])
    print(
        f"\nvoxelize at {args.resolution}^3: speed ratio vs trimesh fill: median "
        f"{np.median(ratios):.1f}x (min {ratios.min():.1f}x); IoU vs contains: min {ious.min():.4f}"
    )


if __name__ == "__main__":
    main()
