"""Large parts at a fine pitch: which pitch a part is checked at, and its grid cut into
overlapping windows of the network's input size.

The networks judge an N^3 grid, and a part fitted to it whole that is much larger than the
features that matter (a 200 mm bracket with 1 mm walls) loses them: at 64^3 its voxels are over
3 mm. Such a part is instead voxelized at a fixed pitch into a grid sized to it, and the network
judges every N^3 window of that grid that holds both material and air; windows overlap by a
quarter of N, so any feature up to N/4 voxels across lies whole in at least one window.

Each judge works at the pitch where it is calibrated to the process. The network's grid puts its
hole boundary on the process's smallest hole (`network_pitch`); the rules measure holes in that
grid too (their closing ball is then the limit). Walls there are too many voxels for the
network and the rules' opening to call thin, so the rules measure walls in a second, coarser
grid where the process's thinnest wall is b_np voxels (`rules_pitch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from printability.config import Preset
from printability.data.inputs import region_codes
from printability.geometry.screen import SCREEN_MARGIN
from printability.inspect.processes import ProcessProfile

PITCH_MODES = ("auto", "fit", "process")
"""`check --pitch`: auto (fit the part to the grid unless that makes a voxel thicker than the
process's thinnest wall; then the process's pitches), fit (always, as trained), process (always
the process's pitches), or a number of mm."""

Window = TypeVar("Window")
Predictor = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray | None]]
"""A network's batch call: inputs -> P(printable) per input and, where it has them, coarse
Grad-CAMs (inspect/runtime.Network.run)."""

MAX_VOXELS = 2**25  # about 34 million: caps a fixed-pitch grid's size (and the time it takes)
MIN_JUDGED = 4  # windows of a large part the network judges even where the rays find no spot


def network_pitch(process: ProcessProfile, thresholds: Preset) -> float:
    """The mm per voxel at which the model's hole boundary, between r_np and r_p voxels of
    radius, falls on the process's smallest hole: diameter (r_np + r_p) voxels."""
    return process.min_hole_mm / (thresholds.r_np + thresholds.r_p)


def rules_pitch(process: ProcessProfile, thresholds: Preset) -> float:
    """The mm per voxel at which the process's thinnest wall is b_np voxels, a wall the rules'
    opening finds reliably (a wall of b_np + 1 voxels is found or not by its voxel alignment)."""
    return process.min_wall_mm / thresholds.b_np


def budget_pitch(
    extents_mm: np.ndarray, max_voxels: int = MAX_VOXELS, margin: int = 2, window: int = 64
) -> float:
    """The finest pitch at which the part's grid (its extents in its own frame, `margin` empty
    voxels per side, every axis padded to at least `window`) holds at most `max_voxels`."""
    extents = np.maximum(np.asarray(extents_mm, float), 1e-9)

    def voxels(pitch: float) -> float:
        return float(np.prod(np.maximum(np.ceil(extents / pitch) + 2 * margin, window)))

    low = (float(np.prod(extents)) / max_voxels) ** (1 / 3)  # too fine even without margins
    high = max(float(extents.max()), low)  # one voxel per part: far inside any budget
    for _ in range(60):  # bisection in log space: ~1e-9 relative
        middle = (low * high) ** 0.5
        low, high = (middle, high) if voxels(middle) > max_voxels else (low, middle)
    return high


def validate_pitch(mode: str | float) -> None:
    """A ValueError unless `mode` is one of PITCH_MODES or a positive, finite number of mm."""
    if isinstance(mode, str):
        if mode not in PITCH_MODES:
            modes = ", ".join(PITCH_MODES)
            raise ValueError(f"unknown pitch {mode!r}; choose from {modes} or a number of mm")
    elif not 0 < float(mode) < float("inf"):
        raise ValueError(f"pitch must be a positive number of mm, got {mode}")


@dataclass(frozen=True)
class PitchChoice:
    """How one part is voxelized: fitted to the grid (pitch None) or at a fixed pitch."""

    pitch_mm: float | None
    reason: str


def choose_pitch(
    mode: str | float,
    fit_pitch_mm: float,
    extents_mm: np.ndarray,
    process: ProcessProfile,
    thresholds: Preset,
    trained_pitch_mm: float | None = None,
    max_voxels: int = MAX_VOXELS,
    window: int = 64,
) -> PitchChoice:
    """Pick the pitch for one part whose extents (in its own, aligned frame) are
    `extents_mm` (see PITCH_MODES). A model trained at a fixed pitch is always used at that
    pitch; a fixed pitch is never finer than the voxel budget allows."""
    validate_pitch(mode)
    if trained_pitch_mm is not None:
        return PitchChoice(trained_pitch_mm, "the model's training pitch")
    if mode == "fit" or (mode == "auto" and fit_pitch_mm <= process.min_wall_mm):
        return PitchChoice(None, "fitted to the grid, as trained")
    wanted = network_pitch(process, thresholds) if isinstance(mode, str) else float(mode)
    floor = budget_pitch(extents_mm, max_voxels, window=window)
    if floor > wanted:
        note = f"{wanted:.3g} mm wanted; coarser to stay within {max_voxels:,} voxels"
        return PitchChoice(floor, note)
    reason = "the process's pitch" if isinstance(mode, str) else "the pitch asked for"
    return PitchChoice(wanted, reason)


def pad_to_window(solid: np.ndarray, size: int, multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pad with air each axis shorter than `size`, evenly, and each to a multiple of `multiple`
    (the network input's block: window corners then fall on blocks); returns the grid and the
    offset of the original grid inside it (subtract it to map padded voxels back)."""
    shape = np.array(solid.shape)
    wanted = np.maximum(size, -(-shape // multiple) * multiple)
    before = (wanted - shape) // 2
    after = wanted - shape - before
    return np.pad(solid, list(zip(before, after, strict=True))), before


def grid_codes(grid: np.ndarray, name: str, block: int, workers: int = 2) -> np.ndarray:
    """data.inputs.encode_input of a whole (large) grid, in `workers` threads: slabs along x
    (on `block`s), each its `region_codes`, equal to encoding it whole (numpy releases the GIL
    in the distance passes)."""
    length = grid.shape[0]
    bounds = [int(round(length * i / workers / block)) * block for i in range(workers + 1)]
    bounds[-1] = length

    def slab(i: int) -> np.ndarray:
        low, high = (bounds[i], 0, 0), (bounds[i + 1], *grid.shape[1:])
        return region_codes(grid, np.array(low), np.array(high), name, block)

    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(slab, range(workers))), axis=1)


def spot_boxes(
    spots_vox: np.ndarray, box: int, shape: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (low, high) corners of every box-sized block of a grid of `shape` holding one of
    the points `spots_vox` (voxel coordinates), in a reproducible order."""
    cells = np.unique(np.floor(np.asarray(spots_vox) / box).astype(int), axis=0)
    cells = cells[np.all((cells >= 0) & (cells * box < np.asarray(shape)), axis=1)]
    return [(cell * box, np.minimum((cell + 1) * box, shape)) for cell in cells]


def screen_windows(
    corners: list[tuple[int, int, int]],
    size: int,
    spots_vox: np.ndarray,
    tightness: np.ndarray,
    margin: float = SCREEN_MARGIN,
    at_least: int = MIN_JUDGED,
) -> list[tuple[int, int, int]]:
    """The windows worth judging at the fine pitch: those holding a surface point whose wall
    or gap is under `margin` times its limit (`tightness`, geometry.screen; `spots_vox` the
    points in the padded grid's voxels), and at least the `at_least` tightest windows, so the
    network always has its say. In the order given."""
    candidates = tightness < 2 * margin  # the rest cannot decide which windows come first
    spots, tight = spots_vox[candidates], tightness[candidates]
    lowest = np.full(len(corners), np.inf)
    for w, corner in enumerate(corners):
        inside = np.all((spots >= corner) & (spots < np.add(corner, size)), axis=1)
        if inside.any():
            lowest[w] = tight[inside].min()
    keep = set(np.flatnonzero(lowest < margin).tolist())
    keep.update(np.argsort(lowest, kind="stable")[:at_least].tolist())
    return [corners[w] for w in sorted(keep)]


def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Window starts along one axis: every `stride`, plus one flush with the end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size, stride))
    return starts + [length - size]


def windows(
    solid: np.ndarray, size: int, overlap: int | None = None
) -> Iterator[tuple[tuple[int, int, int], np.ndarray]]:
    """(corner, window) for each size^3 window (overlap defaults to size // 4) that holds both
    material and air; all-air and all-material windows have nothing to judge. `solid` must be
    at least `size` along every axis (see `pad_to_window`)."""
    stride = size - (size // 4 if overlap is None else overlap)
    if stride < 1:
        raise ValueError(f"overlap {overlap} leaves no stride in a window of {size}")
    for i in window_starts(solid.shape[0], size, stride):
        for j in window_starts(solid.shape[1], size, stride):
            for k in window_starts(solid.shape[2], size, stride):
                window = solid[i : i + size, j : j + size, k : k + size]
                if window.any() and not window.all():
                    yield (i, j, k), window


def judge_windows(
    regions: Sequence[Window],
    window_input: Callable[[Window], np.ndarray],
    predictor: Predictor,
    *,
    inputs_per_call: int = 16,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run `predictor` over every window's network input (made by `window_input`, a call's
    worth at a time, so only those inputs are in memory): P(printable) per window, in order, and
    the coarse Grad-CAMs where the predictor gives them (else None)."""
    if not regions:
        return np.zeros(0), None
    starts = range(0, len(regions), inputs_per_call)
    if progress:
        starts = tqdm(starts, desc="windows", unit="batch", leave=False)
    outputs = [
        predictor([window_input(w) for w in regions[i : i + inputs_per_call]]) for i in starts
    ]
    probabilities = np.concatenate([p for p, _ in outputs])
    cams = None if outputs[0][1] is None else np.concatenate([c for _, c in outputs])
    return probabilities, cams
