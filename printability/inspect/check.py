"""`printability check`: a verdict, a location and sizes in mm for each mesh a user hands in.

Per part: the mesh is read and repaired, voxelized exactly as the checkpoint's training data
(its VoxelConfig) or, when that makes a voxel thicker than the process's thinnest wall, at the
process's pitch and cut into overlapping windows of the network's input size (`windows.py`);
judged by the network (P(printable), the lowest over the windows), measured by the rule measurements
(smallest hole diameter and thinnest wall, converted to mm with the part's voxel pitch) and
compared with a process's limits, and the most suspicious region (the peak of a 3D Grad-CAM in
the worst window) is mapped back to the part's own coordinates in mm. A part is printable when
the network says so and no measured size is under the process's limits. A file that cannot be
read gets its own row with the reason; the others go on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from tqdm import tqdm

from printability.config import UNITS_TO_MM, VoxelConfig
from printability.data.inputs import ENCODE_MARGIN, decode_input, get_input
from printability.data.windows import window_codes
from printability.geometry.mesh_io import (
    MESH_SUFFIXES,
    find_meshes,
    implausible_size,
    load_and_repair,
)
from printability.geometry.normalize import GridPlacement, place_in_grid
from printability.geometry.rule_sizes import (
    RuleMeasurements,
    measure,
    measure_in_boxes,
    thresholds_from_dict,
)
from printability.geometry.screen import SCREEN_MARGIN, RaySizes, ray_sizes
from printability.geometry.thickness import Span, hole_width_at, wall_thickness_at
from printability.geometry.voxelize import voxelize, voxelize_at_pitch
from printability.inspect.heat import heat_from_cam, peak
from printability.inspect.processes import ProcessProfile, get_process
from printability.inspect.runtime import Network, OnnxNetwork, TorchNetwork, open_network
from printability.inspect.windows import (
    choose_pitch,
    grid_codes,
    judge_windows,
    pad_to_window,
    rules_pitch,
    screen_windows,
    spot_boxes,
    validate_pitch,
    windows,
)

if TYPE_CHECKING:
    from torch import nn

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "distnet64.pt"  # weights, for Grad-CAM
DEFAULT_ONNX = ASSETS / "distnet64.onnx"  # the same network exported, for the verdict
EXIT_PRINTABLE, EXIT_NOT_PRINTABLE, EXIT_UNREADABLE = 0, 1, 2
WINDOWS_WORTH_A_BAR = 64  # more network inputs than this in one batch get a progress bar
SCREEN_SPACING = 3.0  # ray screen points: one per (this x the pitch)^2 of surface
RULE_BOX = 32  # the rules measure a large part in boxes of this many voxels around tight spots
SCREEN_PROBE = 0.1  # how far past a surface its side is told (x the thinnest wall)


REPORT_ONLY = frozenset({"solid", "heatmap", "mesh", "placement", "window_offset"})


@dataclass
class PartCheck:
    """The answer for one file (JSON-ready with `to_dict`)."""

    file: str
    printable: bool | None = None  # None: could not be judged (see error)
    probability: float | None = None  # the network's P(printable)
    network_printable: bool | None = None  # P(printable) >= network_threshold
    network_threshold: float | None = None
    process: str = ""
    min_hole_diameter_mm: float | None = None  # None: no hole narrower than the closing ball
    min_wall_mm: float | None = None  # None: no wall thinner than the opening ball (+-1 voxel)
    hole_limit_mm: float | None = None
    wall_limit_mm: float | None = None
    process_ok: bool | None = None
    suspect_mm: list[float] | None = None  # Grad-CAM peak in the mesh's coordinates (defects)
    suspect_wall_mm: float | None = None  # thinnest wall the rays measure near that peak
    suspect_gap_mm: float | None = None  # narrowest gap or hole they measure across there
    hole_at_mm: list[float] | None = None  # the rules' narrowest hole (on its axis), mesh mm
    wall_at_mm: list[float] | None = None  # the rules' thinnest wall, mesh mm
    hole_span_mm: list[list[float]] | None = None  # the chord the hole's width was measured on
    wall_span_mm: list[list[float]] | None = None  # the ray the wall's thickness was measured on
    hole_measured_on: str | None = None  # "mesh" (chords, geometry.thickness) or "voxels"
    wall_measured_on: str | None = None  # "mesh" (rays, geometry.thickness) or "voxels"
    pitch_mm: float | None = None  # edge of one voxel: sizes below it are not seen
    pitch_reason: str = ""  # why this pitch (windows.choose_pitch)
    wall_pitch_mm: float | None = None  # the grid walls are measured in (see windows.py)
    windows: int = 0  # network inputs judged: 1 for a part fitted to the grid
    windows_skipped: int = 0  # windows of a large part the ray screen found nothing tight in
    grid: list[int] | None = None  # voxels along x, y, z (the part's own frame)
    size_mm: list[float] | None = None
    units: str | None = None  # what the file's numbers were read as (mm, cm, m, inch, ...)
    units_assumed: str | None = None  # the unit `--units auto` chose over mm, else None
    repaired: list[str] = field(default_factory=list)  # what repair did (geometry.mesh_io)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    # for `--report` only (Checker(keep_maps=True), parts not printable); not in the JSON
    solid: np.ndarray | None = field(default=None, repr=False)
    heatmap: np.ndarray | None = field(default=None, repr=False)
    mesh: trimesh.Trimesh | None = field(default=None, repr=False)  # as repaired
    placement: GridPlacement | None = field(default=None, repr=False)  # mesh mm to grid
    window_offset: list[int] | None = field(default=None, repr=False)  # `solid`'s voxel 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON fields: all but the report's grids and mesh (REPORT_ONLY, not copied)."""
        return {f.name: deepcopy(getattr(self, f.name)) for f in fields(self)
                if f.name not in REPORT_ONLY}  # fmt: skip


class Checker:
    """Loads a checkpoint once and checks any number of meshes with it."""

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        *,
        process: str | ProcessProfile = "fdm",
        units: str = "auto",
        explain: bool = True,
        keep_maps: bool = False,
        pitch: str | float = "auto",
        screen: bool = True,
        threshold: float | None = None,
    ) -> None:
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        if checkpoint is None and DEFAULT_ONNX.is_file():
            self.network: Network = OnnxNetwork(DEFAULT_ONNX)
        else:
            self.network = open_network(path)
        data = self.network.data
        if "thresholds" not in data or "generate_config" not in data:
            raise ValueError(f"{path}: the checkpoint does not say how its data was voxelized")
        self.checkpoint = path
        # Grad-CAM needs the weights: a .pt (the shipped one beside the shipped .onnx)
        self.weights = None if path.suffix.lower() == ".onnx" else path
        self._explainer = self.network.model if isinstance(self.network, TorchNetwork) else None
        self.voxel_config = VoxelConfig(**data["generate_config"]["voxel"])
        # the training data's thresholds, in voxels: the rules measure at them
        self.rule_thresholds = thresholds_from_dict(data["thresholds"])
        self.process = get_process(process) if isinstance(process, str) else process
        self.units = units
        self.explain = explain
        self.keep_maps = keep_maps  # for the HTML report: grids, heat, mesh of failed parts
        self.pitch = pitch  # see windows.PITCH_MODES
        self.screen = screen  # judge only a large part's windows with tight spots (screen.py)
        # P(printable) under this: the network objects (default: the process's calibrated one)
        self.threshold = self.process.network_threshold if threshold is None else threshold
        self._rays: dict[tuple, RaySizes] = {}  # one batch's rays, by mesh (see _ray_sizes)
        validate_pitch(pitch)

    def check_file(self, path: str | Path) -> PartCheck:
        """Judge one mesh file; any reading or preprocessing problem becomes the row's error."""
        return self.check_paths([path], progress=False)[0]

    def check_paths(
        self, paths: Iterable[str | Path], *, progress: bool = True, batch_size: int = 16
    ) -> list[PartCheck]:
        """Check files and folders (recursively); every input gets a row, in order. Parts are
        voxelized one by one and judged by the network in batches."""
        files = expand_paths(paths)
        bar = tqdm(total=len(files), desc="checking", unit="part",
                   disable=not progress or len(files) < 2)  # fmt: skip
        results = []
        for first in range(0, len(files), batch_size):
            results.extend(self._check_batch(files[first : first + batch_size], progress))
            bar.update(min(batch_size, len(files) - first))
        bar.close()
        return results

    def _check_batch(self, files: Sequence[Path], progress: bool = False) -> list[PartCheck]:
        """Read and voxelize each file, one network pass over the windows of the readable ones,
        then the rule measurements and, for parts judged not printable, the Grad-CAM location."""
        results, grids = [], {}
        for k, path in enumerate(files):
            start = time.perf_counter()
            result = PartCheck(file=str(path), process=self.process.name)
            try:
                grids[k] = self.voxel_grid(path, result)
            except (ValueError, OSError) as exc:  # MeshError is a ValueError
                result.error = _one_line(exc, path)
            result.seconds = time.perf_counter() - start
            results.append(result)
        if not grids:
            return [_rounded(r) for r in results]
        start = time.perf_counter()
        name = self.network.input_name
        block = get_input(name).downsample
        padded, pads, judged, boxes = self._windows_to_judge(grids, results, block)
        flat = [(k, corner) for k in judged for corner in judged[k]]
        whole = {}  # stored inputs of whole grids, where cheaper than window by window

        def network_input(k: int, corner: tuple[int, int, int]) -> np.ndarray:
            reach = (self.size + 2 * ENCODE_MARGIN) ** 3
            if k not in whole and len(judged[k]) * reach > padded[k].size:
                whole[k] = grid_codes(padded[k], name, block)
            if k in whole:
                step = get_input(name).stored_downsample
                cut = tuple(slice(c // step, (c + self.size) // step) for c in corner)
                return decode_input(whole[k][(slice(None), *cut)], name)
            codes = window_codes(padded[k], np.array(corner), self.size, name, block)
            return decode_input(codes, name)

        probabilities, cams = judge_windows(
            flat,
            lambda window: network_input(*window),
            self.network.run,
            progress=progress and len(flat) > WINDOWS_WORTH_A_BAR,  # a large part: seconds
        )
        per_window = (time.perf_counter() - start) / len(flat)  # each part pays for its own
        to_locate = []  # (row, worst window, placement, its offset in the grid, cam, input, mesh)
        first = 0  # the part's first window in `flat`
        for k, (solid, placement, wall_grid, mesh) in grids.items():
            started = time.perf_counter()
            result = results[k]
            part = probabilities[first : first + len(judged[k])]
            worst = int(np.argmin(part))
            cam = None if cams is None else cams[first + worst]
            first += len(judged[k])
            result.windows = len(part)
            result.probability = round(float(part[worst]), 6)
            result.network_printable = result.probability >= self.threshold
            result.network_threshold = self.threshold
            self._measure(solid, placement, result, wall_grid, mesh, boxes[k])
            corner = judged[k][worst]
            window = padded[k][tuple(slice(c, c + self.size) for c in corner)]
            can_explain = cam is not None or self.weights is not None
            if self.explain and can_explain and not result.network_printable:  # where
                offset = np.array(corner) - pads[k]
                features = network_input(k, corner) if cam is None else None  # for torch
                to_locate.append((result, window, placement, offset, cam, features, mesh))
            result.printable = bool(result.network_printable and result.process_ok)
            if self.keep_maps and not result.printable:  # a folder's meshes are not all kept
                result.solid, result.mesh, result.placement = window, mesh, placement
                result.window_offset = [int(v) for v in np.array(corner) - pads[k]]
            result.seconds += per_window * len(part) + time.perf_counter() - started
        if to_locate:
            start = time.perf_counter()
            self._locate(to_locate)
            for result, _, placement, *_, mesh in to_locate:
                self._describe_suspect(result, mesh, placement)
            for result, *_ in to_locate:
                result.seconds += (time.perf_counter() - start) / len(to_locate)
        self._rays = {}
        return [_rounded(r) for r in results]

    def _windows_to_judge(
        self, grids: dict[int, tuple], results: list[PartCheck], block: int
    ) -> tuple[dict, dict, dict, dict]:
        """Per part: its grid padded to whole windows and input blocks, the padding, the
        corners of the windows the network judges (all of them, or for a large part those
        the ray screen picks) and the boxes the rules measure in (None: the whole grid)."""
        padded, pads, judged, boxes = {}, {}, {}, {}
        for k, (solid, placement, _, mesh) in grids.items():
            padded[k], pads[k] = pad_to_window(solid, self.size, multiple=block)
            judged[k] = [corner for corner, _ in windows(padded[k], self.size)]
            boxes[k] = None
            if self.screen and len(judged[k]) > 1:
                every = len(judged[k])
                judged[k], boxes[k] = self._screen(judged[k], solid.shape, pads[k], placement, mesh)
                results[k].windows_skipped = every - len(judged[k])
        return padded, pads, judged, boxes

    def _ray_sizes(self, mesh: trimesh.Trimesh, spacing_mm: float, probe_mm: float) -> RaySizes:
        """geometry.screen.ray_sizes, kept for the batch: the screen and the description of the
        suspect spot of one part ask for the same rays."""
        key = (id(mesh), spacing_mm, probe_mm)
        if key not in self._rays:
            self._rays[key] = ray_sizes(mesh, spacing_mm, probe_mm)
        return self._rays[key]

    def _describe_suspect(
        self, result: PartCheck, mesh: trimesh.Trimesh, placement: GridPlacement
    ) -> None:
        """What is at the network's suspect spot, in mm: the thinnest wall and the narrowest
        gap the rays (geometry.screen) measure within one Grad-CAM cell of it, so that an
        objection names a feature a designer can find and change (None: none there)."""
        if result.suspect_mm is None:
            return
        reach = placement.pitch_mm * self.size / 8  # a cam cell: the network's coarsest grid
        probe = SCREEN_PROBE * self.process.min_wall_mm
        sizes = self._ray_sizes(mesh, min(SCREEN_SPACING * placement.pitch_mm, reach / 2), probe)
        near = np.linalg.norm(sizes.points - np.array(result.suspect_mm), axis=1) <= reach
        for name, values in (("suspect_wall_mm", sizes.wall_mm), ("suspect_gap_mm", sizes.gap_mm)):
            found = values[near & np.isfinite(values)]
            setattr(result, name, round(float(found.min()), 2) if len(found) else None)

    def _screen(
        self,
        corners: list[tuple[int, int, int]],
        shape: tuple[int, int, int],
        pad: np.ndarray,
        placement: GridPlacement,
        mesh: trimesh.Trimesh,
    ) -> tuple[list[tuple[int, int, int]], list[tuple[np.ndarray, np.ndarray]]]:
        """A large part's windows worth judging (corners in the grid padded by `pad`) and the
        boxes the rules measure in (voxels of the unpadded grid, of `shape`): where rays on the
        mesh find a wall or a gap near the process's limits (geometry.screen). Gaps under half
        a voxel are left out: no voxel shows them."""
        spacing = SCREEN_SPACING * placement.pitch_mm
        sizes = self._ray_sizes(mesh, spacing, SCREEN_PROBE * self.process.min_wall_mm)
        gap = np.where(sizes.gap_mm < placement.pitch_mm / 2, np.inf, sizes.gap_mm)
        sizes = replace(sizes, gap_mm=gap)
        tight = sizes.tightness(self.process.min_wall_mm, self.process.min_hole_mm)
        spots = placement.to_voxels(sizes.points) + pad
        kept = screen_windows(corners, self.size, spots, tight)
        boxes = spot_boxes(spots[tight < SCREEN_MARGIN] - pad, RULE_BOX, np.array(shape))
        if not boxes:  # nothing tight: the rules look where the network does
            boxes = [(np.array(c) - pad, np.array(c) - pad + self.size) for c in kept]
        return kept, boxes

    @property
    def size(self) -> int:
        """The network's input edge in voxels (its training resolution)."""
        return self.voxel_config.resolution

    def voxel_grid(
        self, path: str | Path, result: PartCheck
    ) -> tuple[np.ndarray, GridPlacement, tuple[np.ndarray, GridPlacement] | None, trimesh.Trimesh]:
        """Read, repair and voxelize one mesh at the pitch `choose_pitch` picks; fills in the
        row's size, pitch and grid. Returns the network's grid, its placement, and, at a fixed
        pitch, a coarser grid and its placement for the rules' walls (windows.rules_pitch), and
        the repaired mesh (walls are measured on it: geometry.thickness)."""
        mesh = load_and_repair(path, self.units)
        fit = place_in_grid(mesh, self.voxel_config)
        frame_extents = np.ptp(fit.to_voxels(mesh.vertices), axis=0) / fit.scale
        choice = choose_pitch(
            self.pitch, fit.pitch_mm, frame_extents, self.process, self.rule_thresholds,
            self.voxel_config.pitch_mm, window=self.size,
        )  # fmt: skip
        if choice.pitch_mm is None:
            solid, placement = voxelize(mesh, self.voxel_config, fit)
        else:
            solid, placement = voxelize_at_pitch(mesh, choice.pitch_mm, like=fit)
        if not solid.any():
            raise ValueError(f"no voxel is inside the mesh at {placement.pitch_mm:.3g} mm/voxel")
        result.size_mm = [round(float(v), 3) for v in mesh.extents]
        result.units = mesh.metadata.get("units")
        result.units_assumed = mesh.metadata.get("units_assumed")
        result.repaired = list(mesh.metadata.get("repaired", []))
        result.pitch_mm = round(placement.pitch_mm, 4)
        result.pitch_reason = choice.reason
        result.grid = [int(n) for n in solid.shape]
        wall_grid = None
        coarser = rules_pitch(self.process, self.rule_thresholds)
        if choice.pitch_mm is not None and coarser > 1.05 * choice.pitch_mm:
            wall_grid = voxelize_at_pitch(mesh, coarser, like=fit)  # the same frame
        result.wall_pitch_mm = round(placement.pitch_mm if wall_grid is None else coarser, 4)
        return solid, placement, wall_grid, mesh

    @property
    def explainer(self) -> nn.Module | None:
        """The torch model Grad-CAM runs on, loaded on first use (None without weights): torch
        is imported only here, for parts judged not printable."""
        if self._explainer is None and self.weights is not None:
            from printability.train.checkpoint import load_checkpoint, model_from_checkpoint

            self._explainer = model_from_checkpoint(load_checkpoint(self.weights))
        return self._explainer

    def _locate(self, parts: Sequence[tuple]) -> None:
        """Fill in `suspect_mm` of each (row, window, placement, offset, cam, input): the
        Grad-CAM peak, where the network sees the strongest evidence of a defect, in the mesh's
        mm. From the cam the ONNX export carries, else one batched torch Grad-CAM for the rest
        (on the window's network input); `offset` is where the window's voxel 0 lies in the
        part's grid."""
        heatmaps = {i: heat_from_cam(part[4], self.size)
                    for i, part in enumerate(parts) if part[4] is not None}  # fmt: skip
        rest = [i for i in range(len(parts)) if i not in heatmaps]
        if rest:
            from printability.inspect.gradcam import grad_cam

            computed = grad_cam(
                self.explainer,
                np.stack([parts[i][1] for i in rest]),
                input_name=self.network.input_name,
                inputs=np.stack([parts[i][5] for i in rest]),
            )
            shape = (len(rest), *parts[0][1].shape)
            heatmaps.update(zip(rest, computed.reshape(shape), strict=True))
        for i, (result, _, placement, offset, *_) in enumerate(parts):
            where = peak(heatmaps[i])
            if self.keep_maps:
                result.heatmap = heatmaps[i]
            centre = np.array([where], float) + offset + 0.5  # voxel i spans [i, i + 1)
            result.suspect_mm = [round(float(v), 2) for v in placement.to_mm(centre)[0]]

    def _rule_sizes(
        self,
        solid: np.ndarray,
        placement: GridPlacement,
        wall_grid: tuple[np.ndarray, GridPlacement] | None,
        boxes: list[tuple[np.ndarray, np.ndarray]] | None,
    ) -> tuple[RuleMeasurements, RuleMeasurements, GridPlacement]:
        """The rules' holes in `solid` and walls in `wall_grid` when given (a coarser grid: see
        windows.rules_pitch), else in `solid`; and the walls' placement. With `boxes` (voxel
        corners in `solid`), only in those boxes (rule_sizes.measure_in_boxes), mapped into the
        wall grid through mm."""

        def sizes(grid: np.ndarray, kinds: tuple[str, ...], where: list | None) -> RuleMeasurements:
            """`kinds` measured in the whole grid, or only in the boxes `where`."""
            if where is None:
                return measure(grid, self.rule_thresholds, kinds=kinds)
            return measure_in_boxes(grid, where, self.rule_thresholds, kinds=kinds)

        if wall_grid is None:
            both = sizes(solid, ("hole", "wall"), boxes)
            return both, both, placement
        walls, wall_placement = wall_grid
        wall_boxes = None if boxes is None else [
            _box_in(low, high, placement, wall_placement) for low, high in boxes
        ]  # fmt: skip
        hole = sizes(solid, ("hole",), boxes)
        return hole, sizes(walls, ("wall",), wall_boxes), wall_placement

    def _measure(
        self,
        solid: np.ndarray,
        placement: GridPlacement,
        result: PartCheck,
        wall_grid: tuple[np.ndarray, GridPlacement] | None = None,
        mesh: trimesh.Trimesh | None = None,
        boxes: list[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        """The rule baseline's sizes in mm, and where they are, against the process's limits
        (`_rule_sizes`). Where the rules find a narrow hole or a thin wall, its width or
        thickness is measured on the `mesh` itself (geometry.thickness), to a few hundredths
        of a mm. A size measured in voxels is known to about a voxel, so one within half a
        voxel above a limit is not known to clear it and counts as a problem."""
        hole, wall, wall_placement = self._rule_sizes(solid, placement, wall_grid, boxes)
        result.hole_at_mm = _to_mm(hole.hole_at_vox, placement)
        result.wall_at_mm = _to_mm(wall.wall_at_vox, wall_placement)
        pitches = {"hole": placement.pitch_mm, "wall": wall_placement.pitch_mm}
        sizes = {"hole": hole.min_hole_diameter_vox, "wall": wall.min_wall_vox}
        limits = {"hole": self.process.min_hole_mm, "wall": self.process.min_wall_mm}
        mm = {k: None if v is None else round(v * pitches[k], 3) for k, v in sizes.items()}
        bands = {k: pitches[k] / 2 for k in pitches}  # how far above a limit is still unsure
        if mesh is not None and result.hole_at_mm is not None:
            on_mesh = hole_width_at(
                mesh, np.array(result.hole_at_mm), 2 * limits["hole"] + 10 * pitches["hole"]
            )
            result.hole_measured_on = "voxels" if on_mesh is None else "mesh"
            if on_mesh is not None:
                mm["hole"], bands["hole"] = round(on_mesh.mm, 3), 0.0
                result.hole_span_mm = _span(on_mesh)
        if mesh is not None and result.wall_at_mm is not None:
            on_mesh = wall_thickness_at(
                mesh, np.array(result.wall_at_mm), 2 * pitches["wall"] + limits["wall"],
                2 * (limits["wall"] + pitches["wall"]),
            )  # fmt: skip
            if on_mesh is not None:
                mm["wall"], bands["wall"] = round(on_mesh.mm, 3), 0.0
                result.wall_measured_on = "mesh"
                result.wall_span_mm = _span(on_mesh)
            else:
                result.wall_measured_on = "voxels"
        result.min_hole_diameter_mm, result.min_wall_mm = mm["hole"], mm["wall"]
        result.hole_limit_mm, result.wall_limit_mm = limits["hole"], limits["wall"]
        for kind, size in mm.items():
            if size is None or size >= limits[kind] + bands[kind]:
                continue
            if size < limits[kind]:
                result.problems.append(f"{kind} {size:.2f} mm < {limits[kind]} mm")
            else:
                result.problems.append(
                    f"{kind} {size:.2f} mm, not clear of {limits[kind]} mm (+-{bands[kind]:.2f})"
                )
        result.process_ok = not result.problems


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the mesh files under them (recursive, sorted). A
    path that does not exist stays, so it gets its own error row."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(find_meshes(path) if path.is_dir() else [path])
    return files


def exit_code(results: Sequence[PartCheck]) -> int:
    """0 all printable, 1 some not printable, 2 some input could not be read."""
    if any(r.error for r in results):
        return EXIT_UNREADABLE
    return EXIT_PRINTABLE if all(r.printable for r in results) else EXIT_NOT_PRINTABLE


TABLE_HEAD = ("file", "verdict", "P(print)", "hole mm", "wall mm", "suspect at (mm)", "note")


def format_table(results: Sequence[PartCheck]) -> str:
    """A plain-text table, one row per file (`table_rows` under TABLE_HEAD)."""
    rows = [TABLE_HEAD, *table_rows(results)]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(TABLE_HEAD) - 1)]
    lines = []
    for row in rows:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def table_rows(results: Sequence[PartCheck]) -> list[tuple[str, ...]]:
    """The verdict table's cells, one row per file, in TABLE_HEAD's order."""
    rows = []
    for r in results:
        if r.error:
            rows.append((r.file, "ERROR", "-", "-", "-", "-", r.error))
            continue
        verdict = "printable" if r.printable else "NOT printable"
        notes = list(r.problems) or ([_objection(r)] if not r.network_printable else [])
        if r.units_assumed:
            as_mm = max(r.size_mm or [0.0]) / UNITS_TO_MM[r.units]
            notes.append(f"read as {r.units}: as mm it would be {as_mm:.3g} mm across")
        elif r.size_mm and (size_note := implausible_size(max(r.size_mm))):
            notes.append(size_note)
        if r.repaired:
            notes.append("repaired: " + ", ".join(r.repaired))
        if r.windows > 1 or r.windows_skipped:
            every = r.windows + r.windows_skipped
            notes.append(f"{r.windows} of {every} windows at {r.pitch_mm} mm")
        note = "; ".join(notes)
        where = r.suspect_mm or _problem_at(r)
        suspect = "-" if where is None else "({:.1f}, {:.1f}, {:.1f})".format(*where)
        rows.append((
            r.file, verdict, f"{r.probability:.3f}", _mm(r.min_hole_diameter_mm),
            _mm(r.min_wall_mm), suspect, note,
        ))  # fmt: skip
    return rows


def to_json(results: Sequence[PartCheck]) -> str:
    """The `--json` output: a list of objects with at least file, printable, probability, error."""
    return json.dumps([r.to_dict() for r in results], indent=2)


def _objection(r: PartCheck) -> str:
    """The network's objection where no rule found a size under the limits, with what the rays
    measure at its suspect spot when near the limits, so a designer knows what to look at."""
    text = f"network says not printable (P {r.probability:.2f})"
    found = []
    wall, hole = r.wall_limit_mm or 0.0, r.hole_limit_mm or 0.0
    if r.suspect_wall_mm is not None and r.suspect_wall_mm < SCREEN_MARGIN * wall:
        found.append(f"wall {r.suspect_wall_mm:.2f} mm (min {wall})")
    if r.suspect_gap_mm is not None and r.suspect_gap_mm < SCREEN_MARGIN * hole:
        found.append(f"gap {r.suspect_gap_mm:.2f} mm (min hole {hole})")
    if found:
        return f"{text}; at its spot: " + ", ".join(found)
    return text + ("; no wall or gap near the limits at its spot" if r.suspect_mm else "")


def _problem_at(r: PartCheck) -> list[float] | None:
    """Where the rules put the first size problem (for a part the network lets through)."""
    for problem in r.problems:
        where = r.hole_at_mm if problem.startswith("hole") else r.wall_at_mm
        if where is not None:
            return where
    return None


def _mm(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _span(span: Span) -> list[list[float]]:
    """A measured segment's two end points, mesh mm, for the JSON."""
    return [[round(float(v), 3) for v in point] for point in (span.start, span.end)]


def _to_mm(voxel: tuple[int, int, int] | None, placement: GridPlacement) -> list[float] | None:
    """A voxel's centre in the mesh's mm (voxel i spans [i, i + 1)), or None."""
    if voxel is None:
        return None
    return [round(float(v), 2) for v in placement.to_mm(np.array([voxel], float) + 0.5)[0]]


def _box_in(
    low: np.ndarray, high: np.ndarray, placement: GridPlacement, other: GridPlacement
) -> tuple[np.ndarray, np.ndarray]:
    """The voxel box (low, high) of one grid as a box of another grid in the same frame."""
    corners = other.to_voxels(placement.to_mm(np.array([low, high], float)))
    return np.floor(corners.min(axis=0)).astype(int), np.ceil(corners.max(axis=0)).astype(int)


def _rounded(result: PartCheck) -> PartCheck:
    """The row with its seconds rounded for display."""
    result.seconds = round(result.seconds, 3)
    return result


def _one_line(exc: Exception, path: str | Path) -> str:
    """The reason, on one line, naming the file once."""
    text = " ".join(str(exc).split())
    return text if str(path) in text else f"{path}: {text}"


__all__ = ["MESH_SUFFIXES", "Checker", "PartCheck", "exit_code", "format_table", "to_json"]
