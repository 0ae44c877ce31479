"""The dataset store (the 2021 "data lake"): shards of bit-packed voxels plus a manifest.

Layout of a dataset directory:
    dataset.json            the generation config, grid size, shard count and stored inputs
    shards/shard-00012.npz  one block of base parts, zlib per sample: the voxels (np.packbits),
                            each sample's defect mask (packbits: the voxels that make it not
                            printable, empty for printable samples) and the network inputs
                            named in dataset.json (data/inputs.py: encode_input, uint8)
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

from printability.data.inputs import encode_input, get_input

MANIFEST_COLUMNS: tuple[str, ...] = (
    "sample_id", "group", "split", "label", "defect", "hole_radius_vox", "wall_vox",
    "resolution", "source", "pitch_mm", "seed", "part_index", "n_holes",
    "hole_center_x", "hole_center_y", "hole_center_z", "hole_axis_x", "hole_axis_y",
    "hole_axis_z", "part_kind", "part_params", "shard", "thin_extent_vox",
)  # fmt: skip
INT_COLUMNS = frozenset({"label", "resolution", "seed", "part_index", "n_holes", "shard"})
FLOAT_COLUMNS = frozenset(
    {"hole_radius_vox", "wall_vox", "pitch_mm", "thin_extent_vox"}
    | {f"hole_{k}_{a}" for k in ("center", "axis") for a in "xyz"}
)
FORMAT_VERSION = 3  # 3: thin-spot labels, defect masks, stored inputs
CODES_CACHE_BYTES = 2**30  # decompressed network inputs kept in memory per dataset (1 GiB)


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


def write_shard(
    root: Path,
    index: int,
    packed: list[np.ndarray],
    rows: list[dict],
    masks: list[np.ndarray] | None = None,
    inputs: dict[str, list[np.ndarray]] | None = None,
) -> None:
    """Write one shard's voxels, defect masks (both `pack_voxels`) and encoded network inputs,
    then its manifest rows (the rows file marks completion).

    Each sample is compressed on its own, so reading one sample decompresses a few kB, not the
    whole shard: random access for training stays cheap."""
    shard_dir = root / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"sample_id": np.array([r["sample_id"] for r in rows], dtype=str)}
    arrays["blob"], arrays["offsets"] = _compress_each(packed)
    if masks is not None:
        arrays["mask_blob"], arrays["mask_offsets"] = _compress_each(masks)
    for name, codes in (inputs or {}).items():
        arrays[f"input_{name}_blob"], arrays[f"input_{name}_offsets"] = _compress_each(codes)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(shard_dir / f"{shard_name(index)}.npz", buffer.getvalue())
    atomic_write_bytes(shard_dir / f"{shard_name(index)}.csv", _rows_to_csv(rows))


def _compress_each(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each array's bytes zlib-compressed on its own: one blob and the offsets into it."""
    blobs = [zlib.compress(np.ascontiguousarray(a).tobytes(), 6) for a in arrays]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    return np.frombuffer(b"".join(blobs), np.uint8), offsets


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
    """Random access to a dataset: len(ds) and ds[i] -> (bool voxels (N, N, N), manifest row);
    `defect_mask(i)` and `input_codes(i, name)` read the other stored arrays."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.info = read_info(self.root)
        if self.info.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{self.root}: dataset format {self.info.get('format_version')}, this printability "
                f"reads format {FORMAT_VERSION}; generate it again"
            )
        self.resolution = int(self.info["resolution"])
        self.stored_inputs: tuple[str, ...] = tuple(self.info.get("inputs", ()))
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
        self._cache: dict[int, dict[str, np.ndarray | bytes]] = {}
        self._codes: dict[tuple[int, str], np.ndarray] = {}
        self._codes_bytes = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict]:
        packed = np.frombuffer(self._sample_bytes(index, ""), np.uint8)
        return unpack_voxels(packed, self.resolution), dict(self.records[index])

    def defect_mask(self, index: int) -> np.ndarray:
        """The voxels that make sample `index` not printable (bool (N, N, N); none when it is
        printable): a small hole's carved voxels, or the material of a thin wall."""
        packed = np.frombuffer(self._sample_bytes(index, "mask_"), np.uint8)
        return unpack_voxels(packed, self.resolution)

    def defect_voxels(self, index: int) -> np.ndarray:
        """The indices (V, 3) of `defect_mask(index)`'s voxels: a few hundred at most, so
        pooling them is cheaper than pooling the grid."""
        packed = np.frombuffer(self._sample_bytes(index, "mask_"), np.uint8)
        flat = np.flatnonzero(np.unpackbits(packed, count=self.resolution**3))
        return np.stack(np.unravel_index(flat, (self.resolution,) * 3), axis=1)

    def input_codes(self, index: int, name: str) -> np.ndarray:
        """Network input `name` of sample `index` in its stored form (inputs.encode_input), read
        only: read when the dataset stores it, else computed from the voxels. Kept in memory up
        to CODES_CACHE_BYTES, so epochs after the first skip the decompression."""
        key = (index, name)
        if key in self._codes:
            return self._codes[key]
        if name in self.stored_inputs:
            shape = get_input(name).stored_shape(self.resolution)
            raw = self._sample_bytes(index, f"input_{name}_")
            codes = np.frombuffer(raw, np.uint8).reshape(shape)
        else:
            codes = encode_input(self[index][0], name)
            codes.flags.writeable = False
        if self._codes_bytes + codes.nbytes <= CODES_CACHE_BYTES:
            self._codes[key] = codes
            self._codes_bytes += codes.nbytes
        return codes

    def _sample_bytes(self, index: int, prefix: str) -> bytes:
        """One sample's decompressed bytes of the shard arrays `{prefix}blob`/`{prefix}offsets`."""
        arrays = self._shard(self.records[index]["shard"])
        blob, offsets = arrays[f"{prefix}blob"], arrays[f"{prefix}offsets"]
        row = self._row_in_shard[index]
        return zlib.decompress(blob[offsets[row] : offsets[row + 1]])

    def _shard(self, index: int) -> dict[str, np.ndarray | bytes]:
        """A shard's compressed arrays, kept in memory (the dataset's size on disk)."""
        if index not in self._cache:
            with np.load(self.root / "shards" / f"{shard_name(index)}.npz") as data:
                self._cache[index] = {
                    key: data[key].tobytes() if key.endswith("blob") else data[key]
                    for key in data.files
                    if key != "sample_id"
                }
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
