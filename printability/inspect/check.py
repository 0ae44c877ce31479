"""`printability check`: a verdict, a location and sizes in mm for each mesh a user hands in.

Per part: the mesh is read and repaired, voxelized exactly as the checkpoint's training data
(its VoxelConfig), judged by the network (P(printable)), measured by the rule baseline
(smallest hole diameter and thinnest wall, converted to mm with the part's voxel pitch) and
compared with a process's limits, and the most suspicious region (the peak of a 3D Grad-CAM) is
mapped back to the part's own coordinates in mm. A part is printable when the network says so
and no measured size is under the process's limits. A file that cannot be read gets its own row
with the reason; the others go on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from printability.config import VoxelConfig
from printability.evaluate.rules import RuleBaseline, thresholds_from_dict
from printability.geometry.mesh_io import MESH_SUFFIXES, find_meshes, load_and_repair
from printability.geometry.voxelize import voxelize
from printability.inspect.processes import ProcessProfile, get_process
from printability.models.inference import fuse_for_inference, native_bf16
from printability.train.checkpoint import load_checkpoint, model_from_checkpoint

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "fastnet64.pt"
EXIT_PRINTABLE, EXIT_NOT_PRINTABLE, EXIT_UNREADABLE = 0, 1, 2


@dataclass
class PartCheck:
    """The answer for one file (JSON-ready with `to_dict`)."""

    file: str
    printable: bool | None = None  # None: could not be judged (see error)
    probability: float | None = None  # the network's P(printable)
    network_printable: bool | None = None
    process: str = ""
    min_hole_diameter_mm: float | None = None  # None: no hole narrower than the closing ball
    min_wall_mm: float | None = None  # None: no wall thinner than the opening ball
    hole_limit_mm: float | None = None
    wall_limit_mm: float | None = None
    process_ok: bool | None = None
    suspect_mm: list[float] | None = None  # Grad-CAM peak in the mesh's coordinates (defects)
    pitch_mm: float | None = None  # edge of one voxel: sizes below it are not seen
    size_mm: list[float] | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    # for `--report` only (Checker(keep_maps=True)); not part of the JSON
    solid: np.ndarray | None = field(default=None, repr=False)
    heatmap: np.ndarray | None = field(default=None, repr=False)
    peak_vox: list[float] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        hidden = {"solid", "heatmap", "peak_vox"}
        return {k: v for k, v in asdict(self).items() if k not in hidden}


class Checker:
    """Loads a checkpoint once and checks any number of meshes with it."""

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        process: str = "fdm",
        units: str = "mm",
        explain: bool = True,
        keep_maps: bool = False,
    ) -> None:
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        payload = load_checkpoint(path)
        data = payload.get("data", {})
        if "thresholds" not in data or "generate_config" not in data:
            raise ValueError(f"{path}: the checkpoint does not say how its data was voxelized")
        self.checkpoint = path
        self.voxel_config = VoxelConfig(**data["generate_config"]["voxel"])
        self.rules = RuleBaseline(thresholds_from_dict(data["thresholds"]))
        self.process: ProcessProfile = get_process(process)
        self.units = units
        self.network = model_from_checkpoint(payload)
        self.fused = fuse_for_inference(self.network).to(memory_format=torch.channels_last_3d)
        self.explain = explain
        self.keep_maps = keep_maps  # keep grids and heatmaps on the rows (for the HTML report)

    def check_file(self, path: str | Path) -> PartCheck:
        """Judge one mesh file; any reading or preprocessing problem becomes the row's error."""
        return self.check_paths([path], progress=False)[0]

    def check_paths(
        self, paths: Iterable[str | Path], progress: bool = True, batch_size: int = 16
    ) -> list[PartCheck]:
        """Check files and folders (recursively); every input gets a row, in order. Parts are
        voxelized one by one and judged by the network in batches."""
        files = expand_paths(paths)
        bar = tqdm(total=len(files), desc="checking", unit="part",
                   disable=not progress or len(files) < 2)  # fmt: skip
        results = []
        for first in range(0, len(files), batch_size):
            results.extend(self._check_batch(files[first : first + batch_size]))
            bar.update(min(batch_size, len(files) - first))
        bar.close()
        return results

    def _check_batch(self, files: Sequence[Path]) -> list[PartCheck]:
        """Read and voxelize each file, one network pass for the readable ones, then the rule
        measurements and, for parts judged not printable, the Grad-CAM location."""
        results, grids = [], {}
        for k, path in enumerate(files):
            start = time.perf_counter()
            result = PartCheck(file=str(path), process=self.process.name)
            try:
                mesh = load_and_repair(path, self.units)
                solid, placement = voxelize(mesh, self.voxel_config)
                if not solid.any():
                    raise ValueError("no voxel is inside the mesh")
                result.size_mm = [round(float(v), 3) for v in mesh.extents]
                result.pitch_mm = round(placement.pitch_mm, 4)
                grids[k] = (solid, placement)
            except (ValueError, OSError) as exc:  # MeshError is a ValueError
                result.error = _one_line(exc, path)
            result.seconds = time.perf_counter() - start
            results.append(result)
        if grids:
            start = time.perf_counter()
            probabilities = self.probabilities([solid for solid, _ in grids.values()])
            share = (time.perf_counter() - start) / len(grids)
            for (k, (solid, placement)), probability in zip(grids.items(), probabilities,
                                                             strict=True):  # fmt: skip
                started = time.perf_counter()
                result = results[k]
                result.probability = round(float(probability), 6)
                result.network_printable = result.probability >= 0.5
                self._measure(solid, placement.pitch_mm, result)
                if self.explain and not result.network_printable:  # a location for a problem
                    result.suspect_mm = self.suspect(solid, placement, result)
                if self.keep_maps:
                    result.solid = solid
                result.printable = bool(result.network_printable and result.process_ok)
                result.seconds = round(result.seconds + share + time.perf_counter() - started, 3)
        return results

    @torch.inference_mode()
    def probabilities(self, solids: Sequence[np.ndarray]) -> np.ndarray:
        """The network's P(printable) for voxel grids, in one batch (bf16 where native)."""
        x = torch.from_numpy(np.stack(solids).astype(np.float32))[:, None]
        x = x.contiguous(memory_format=torch.channels_last_3d)
        bf16 = native_bf16(torch.device("cpu"))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return torch.sigmoid(self.fused(x).float()).numpy()

    def suspect(self, solid: np.ndarray, placement, result: PartCheck | None = None) -> list[float]:
        """The Grad-CAM peak (where the network sees the strongest evidence of a defect), in
        the mesh's coordinates in mm."""
        from printability.inspect.gradcam import grad_cam, peak

        heatmap = grad_cam(self.network, solid)
        where = peak(heatmap)
        if result is not None and self.keep_maps:
            result.heatmap, result.peak_vox = heatmap, [float(v) for v in where]
        centre = np.array([where], float) + 0.5  # voxel i spans [i, i + 1)
        point = placement.to_mm(centre)[0]
        return [round(float(v), 2) for v in point]

    def _measure(self, solid: np.ndarray, pitch_mm: float, result: PartCheck) -> None:
        """The rule baseline's sizes in mm against the process's limits."""
        measured = self.rules.measure(solid)
        hole = measured.min_hole_diameter_vox
        wall = measured.min_wall_vox
        result.min_hole_diameter_mm = None if hole is None else round(hole * pitch_mm, 3)
        result.min_wall_mm = None if wall is None else round(wall * pitch_mm, 3)
        result.hole_limit_mm = self.process.min_hole_mm
        result.wall_limit_mm = self.process.min_wall_mm
        if result.min_hole_diameter_mm is not None and (
            result.min_hole_diameter_mm < self.process.min_hole_mm
        ):
            result.problems.append(
                f"hole {result.min_hole_diameter_mm:.2f} mm < {self.process.min_hole_mm} mm"
            )
        wall_limit = self.process.min_wall_mm
        if result.min_wall_mm is not None and result.min_wall_mm < wall_limit:
            result.problems.append(f"wall {result.min_wall_mm:.2f} mm < {wall_limit} mm")
        result.process_ok = not result.problems


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the mesh files under them (recursive, sorted). A
    path that does not exist stays, so it gets its own error row."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(find_meshes(path) if path.is_dir() else [path])
    return files


def exit_code(results: Sequence[PartCheck]) -> int:
    """0 all printable, 1 some not printable, 2 some input could not be read (DESIGN.md)."""
    if any(r.error for r in results):
        return EXIT_UNREADABLE
    return EXIT_PRINTABLE if all(r.printable for r in results) else EXIT_NOT_PRINTABLE


def format_table(results: Sequence[PartCheck]) -> str:
    """A plain-text table, one row per file."""
    head = ("file", "verdict", "P(print)", "hole mm", "wall mm", "suspect at (mm)", "note")
    rows = [head]
    for r in results:
        if r.error:
            rows.append((r.file, "ERROR", "-", "-", "-", "-", r.error))
            continue
        verdict = "printable" if r.printable else "NOT printable"
        note = "; ".join(r.problems) or ("network says not printable" if not r.network_printable
                                         else "")  # fmt: skip
        suspect = "-" if r.suspect_mm is None else "({:.1f}, {:.1f}, {:.1f})".format(*r.suspect_mm)
        rows.append((
            r.file, verdict, f"{r.probability:.3f}", _mm(r.min_hole_diameter_mm),
            _mm(r.min_wall_mm), suspect, note,
        ))  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head) - 1)]
    lines = []
    for row in rows:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def to_json(results: Sequence[PartCheck]) -> str:
    """The `--json` output: a list of objects with at least file, printable, probability, error."""
    return json.dumps([r.to_dict() for r in results], indent=2)


def _mm(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _one_line(exc: Exception, path: str | Path) -> str:
    """The reason, on one line, naming the file once."""
    text = " ".join(str(exc).split())
    return text if str(path) in text else f"{path}: {text}"


__all__ = ["MESH_SUFFIXES", "Checker", "PartCheck", "exit_code", "format_table", "to_json"]
