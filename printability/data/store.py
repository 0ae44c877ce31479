"""The dataset store (the 2021 "data lake"): shards of bit-packed voxels plus a manifest.

Layout of a dataset directory:
    dataset.json            the generation config, grid size and shard count
    shards/shard-00012.npz  voxels of one block of base parts: np.packbits, zlib per sample
    shards/shard-00012.csv  those samples' manifest rows; written last, so it marks the shard done
    manifest.csv            all rows in shard order (written when every shard is present)
    summary.json            counts per class and split, rejects, timing
Every file is written to a temporary name and renamed, so a killed run never leaves a torn file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST_COLUMNS: tuple[str, ...] = (
    "sample_id", "group", "split", "label", "defect", "hole_radius_vox", "wall_vox",
    "resolution", "source", "pitch_mm", "seed", "part_index", "n_holes",
    "hole_center_x", "hole_center_y", "hole_center_z", "hole_axis_x", "hole_axis_y",
    "hole_axis_z", "part_kind", "part_params", "shard",
)  # fmt: skip
INT_COLUMNS = frozenset({"label", "resolution", "seed", "part_index", "n_holes", "shard"})
FLOAT_COLUMNS = frozenset(
    {"hole_radius_vox", "wall_vox", "pitch_mm"}
    | {f"hole_{k}_{a}" for k in ("center", "axis") for a in "xyz"}
)
FORMAT_VERSION = 2


def shard_name(index: int) -> str:
    """File stem of shard `index`."""
    return f"shard-{index:05d}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    """JSON version of atomic_write_bytes."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def pack_voxels(voxels: np.ndarray) -> np.ndarray:
    """One bool grid to a flat uint8 array of bits (8x smaller)."""
    return np.packbits(voxels.reshape(-1))


def unpack_voxels(packed: np.ndarray, resolution: int) -> np.ndarray:
    """Inverse of pack_voxels."""
    n = resolution**3
    return np.unpackbits(packed, count=n).astype(bool).reshape((resolution,) * 3)


def write_shard(root: Path, index: int, packed: list[np.ndarray], rows: list[dict]) -> None:
    """Write one shard's voxels then its manifest rows (the rows file marks completion).

    Each sample is compressed on its own (zlib over its packed bits), so reading one sample
    decompresses 2 kB, not the whole shard: random access for training stays cheap."""
    shard_dir = root / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    blobs = [zlib.compress(p.tobytes(), 6) for p in packed]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    ids = np.array([r["sample_id"] for r in rows], dtype=str)
    buffer = io.BytesIO()
    np.savez(buffer, blob=np.frombuffer(b"".join(blobs), np.uint8), offsets=offsets, sample_id=ids)
    atomic_write_bytes(shard_dir / f"{shard_name(index)}.npz", buffer.getvalue())
    atomic_write_bytes(shard_dir / f"{shard_name(index)}.csv", _rows_to_csv(rows))


def completed_shards(root: Path) -> list[int]:
    """Indices of shards whose voxels and rows are both on disk."""
    shard_dir = Path(root) / "shards"
    if not shard_dir.is_dir():
        return []
    done = []
    for csv_path in shard_dir.glob("shard-*.csv"):
        if csv_path.with_suffix(".npz").exists():
            done.append(int(csv_path.stem.split("-")[1]))
    return sorted(done)


def read_shard_rows(root: Path, index: int) -> list[dict]:
    """Manifest rows of one shard, typed."""
    with open(Path(root) / "shards" / f"{shard_name(index)}.csv", newline="") as f:
        return [_typed(row) for row in csv.DictReader(f)]


def write_manifest(root: Path) -> int:
    """Join all shard rows into manifest.csv in shard order; returns the row count."""
    rows = [row for i in completed_shards(root) for row in read_shard_rows(root, i)]
    atomic_write_bytes(Path(root) / "manifest.csv", _rows_to_csv(rows))
    return len(rows)


def read_info(root: Path) -> dict:
    """The dataset.json of a dataset directory, with a clear error if there is none."""
    path = Path(root) / "dataset.json"
    if not path.exists():
        raise FileNotFoundError(f"{root}: not a dataset (no dataset.json)")
    return json.loads(path.read_text())


def missing_shards(root: Path) -> list[int]:
    """Shard indices the dataset should have but does not (yet)."""
    expected = read_info(root)["n_shards"]
    done = set(completed_shards(root))
    return [i for i in range(expected) if i not in done]


def merge(out: Path, inputs: Iterable[Path]) -> int:
    """Join datasets built as disjoint `--shard i/N` parts into `out` (which may be one of the
    inputs); they must come from the same config. Returns the number of samples."""
    out = Path(out)
    inputs = [Path(p) for p in inputs]
    infos = [read_info(p) for p in inputs]
    for path, info in zip(inputs[1:], infos[1:], strict=True):
        if info["config"] != infos[0]["config"]:
            raise ValueError(f"{path}: made with a different config than {inputs[0]}")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    for path in inputs:
        if path.resolve() == out.resolve():
            continue
        for index in completed_shards(path):
            for suffix in (".npz", ".csv"):
                src = path / "shards" / f"{shard_name(index)}{suffix}"
                dst = out / "shards" / src.name
                if not dst.exists():
                    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
                    shutil.copyfile(src, tmp)
                    os.replace(tmp, dst)
    if (out / "dataset.json").exists() and read_info(out)["config"] != infos[0]["config"]:
        raise ValueError(f"{out}: holds a dataset made with a different config")
    atomic_write_json(out / "dataset.json", infos[0])
    missing = missing_shards(out)
    if missing:
        raise ValueError(f"{out}: {len(missing)} shards still missing, e.g. {missing[:5]}")
    return write_manifest(out)


class VoxelDataset:
    """Random access to a dataset: len(ds) and ds[i] -> (bool voxels (N, N, N), manifest row)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.info = read_info(self.root)
        if self.info.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{self.root}: dataset format {self.info.get('format_version')}, this printability "
                f"reads format {FORMAT_VERSION}; generate it again"
            )
        self.resolution = int(self.info["resolution"])
        manifest = self.root / "manifest.csv"
        if manifest.exists():
            with open(manifest, newline="") as f:
                self.records = [_typed(row) for row in csv.DictReader(f)]
        else:  # a dataset still being built, or shards not yet merged
            self.records = [
                r for i in completed_shards(self.root) for r in read_shard_rows(self.root, i)
            ]
        # rows are in shard order, as in the shard files: a sample's row there is its rank here
        self._row_in_shard = _positions_within_shards([r["shard"] for r in self.records])
        self._cache: dict[int, tuple[bytes, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict]:
        record = self.records[index]
        blob, offsets = self._shard(record["shard"])
        row = self._row_in_shard[index]
        packed = np.frombuffer(zlib.decompress(blob[offsets[row] : offsets[row + 1]]), np.uint8)
        return unpack_voxels(packed, self.resolution), dict(record)

    def _shard(self, index: int) -> tuple[bytes, np.ndarray]:
        """A shard's compressed samples, kept in memory (the dataset's size on disk)."""
        if index not in self._cache:
            with np.load(self.root / "shards" / f"{shard_name(index)}.npz") as data:
                self._cache[index] = (data["blob"].tobytes(), data["offsets"])
        return self._cache[index]


def _positions_within_shards(shards: list[int]) -> list[int]:
    """For rows listed shard by shard, each row's index inside its own shard."""
    positions, seen = [], Counter()
    for shard in shards:
        positions.append(seen[shard])
        seen[shard] += 1
    return positions


def open_dataset(path: str | Path) -> VoxelDataset:
    """Open a dataset directory for reading (see VoxelDataset)."""
    return VoxelDataset(path)


def _rows_to_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(row.get(k)) for k in MANIFEST_COLUMNS})
    return buffer.getvalue().encode()


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # repr: the shortest text that reads back to the same float
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _typed(row: dict) -> dict:
    """Turn a csv row's strings back into ints, floats (NaN when empty) and strings."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in INT_COLUMNS:
            out[key] = int(value)
        elif key in FLOAT_COLUMNS:
            out[key] = float(value) if value != "" else float("nan")
        else:
            out[key] = value
    return out
