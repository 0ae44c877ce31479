"""Typed configuration with every default in one place.

The CLI builds these objects and the dataset (and later checkpoints) serialize them, so a mesh
checked later is preprocessed exactly as the training data was.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFECT_CLASSES: tuple[str, ...] = ("no_defect", "printable_hole", "small_hole", "thin_wall")
"""The four sample classes; the first two are printable (label 1), the others not (label 0)."""

PRINTABLE_CLASSES = frozenset({"no_defect", "printable_hole"})

UNITS_TO_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "inch": 25.4}
UNIT_CHOICES: tuple[str, ...] = ("auto", *UNITS_TO_MM)
"""`--units`: auto (mm unless the size is implausible: geometry.mesh_io.guess_units) or one."""


@dataclass(frozen=True)
class Preset:
    """Hole and wall thresholds in voxels at a reference grid, scaled to other grids.

    A hole is printable iff radius >= r_p and wall >= b_p; `small_hole` has radius <= r_np;
    `thin_wall` has radius >= r_p and 1 <= wall <= b_np. Values between are rejected.
    """

    name: str
    r_p: float
    r_np: float
    b_p: float
    b_np: float
    reference_resolution: int = 64

    def at_resolution(self, resolution: int) -> Preset:
        """Scale the thresholds linearly to `resolution`, keeping them apart by at least a voxel."""
        s = resolution / self.reference_resolution
        r_np = max(1.5, self.r_np * s)
        b_np = max(1.5, self.b_np * s)
        r_p = max(r_np + 1.5, self.r_p * s)
        b_p = max(b_np + 1.0, self.b_p * s)
        return Preset(self.name, r_p, r_np, b_p, b_np, resolution)


PRESETS: dict[str, Preset] = {
    # The 2021 study's rotated-data configuration at 64^3 (docs/labels.md).
    "seed2021": Preset("seed2021", r_p=6.0, r_np=3.0, b_p=4.0, b_np=2.0),
}


def get_preset(name: str) -> Preset:
    """Look up a preset by name with a clear error."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class VoxelConfig:
    """How a mesh becomes an N^3 occupancy grid."""

    resolution: int = 64
    margin_vox: int | None = None  # empty voxels per side when fitting; None: N/16, at least 2
    pitch_mm: float | None = None  # None: fit the part to the grid; else a fixed mm per voxel
    align: bool = True  # rotate the principal axes of inertia onto the grid axes

    def __post_init__(self) -> None:
        if not 16 <= self.resolution <= 256:
            raise ValueError(f"resolution must be in 16..256, got {self.resolution}")
        if self.pitch_mm is not None and self.pitch_mm <= 0:
            raise ValueError(f"pitch_mm must be positive, got {self.pitch_mm}")
        if not 0 <= 2 * self.margin < self.resolution:
            raise ValueError(f"margin_vox {self.margin_vox} does not fit resolution")

    @property
    def margin(self) -> int:
        """Empty voxels left on every side in fit-to-grid mode (4 at 64^3)."""
        if self.margin_vox is not None:
            return self.margin_vox
        return max(2, round(self.resolution / 16))


@dataclass(frozen=True)
class SelectConfig:
    """The ModelSelector's filters for meshes from a folder (None: no limit)."""

    max_file_mb: float | None = 50.0
    min_faces: int | None = 12
    max_faces: int | None = 500_000
    require_watertight: bool = False  # open meshes are decided by winding number (voxelize.py)
    min_compactness: float | None = 0.05  # volume / bounding-box volume


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that determines a generated dataset; same config + seed = same data."""

    source: str = "procedural"  # "procedural" or a folder of meshes
    count: int = 1000  # samples wanted (4 classes per base part)
    seed: int = 0
    preset: str = "seed2021"
    max_holes: int = 1
    radius_factor: float = 1.25  # printable-radius holes span r_p .. radius_factor * r_p
    units: str = "auto"
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    parts_per_shard: int = 64
    max_tries: int = 80  # hole placements tried per defect before giving up on a base part
    families: tuple[str, ...] | None = None  # procedural part families drawn from; None: all
    holdout_families: tuple[str, ...] = ()  # families whose parts all go to the test split
    window_fraction: float = 0.0  # base parts made as windows of a bigger grid (data/windows.py)
    voxel: VoxelConfig = field(default_factory=VoxelConfig)
    select: SelectConfig = field(default_factory=SelectConfig)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if self.parts_per_shard < 1:
            raise ValueError(f"parts_per_shard must be >= 1, got {self.parts_per_shard}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")
        if self.radius_factor < 1:
            raise ValueError(f"radius_factor must be >= 1, got {self.radius_factor}")
        if not 0 <= self.window_fraction <= 1:
            raise ValueError(f"window_fraction must be in 0..1, got {self.window_fraction}")
        if self.window_fraction and self.voxel.pitch_mm is not None:
            raise ValueError("window parts are fitted to a bigger grid: no fixed pitch_mm")
        if self.max_holes < 1:
            raise ValueError(f"max_holes must be >= 1, got {self.max_holes}")
        if self.units not in UNIT_CHOICES:
            raise ValueError(f"unknown units {self.units!r}; choose from {', '.join(UNIT_CHOICES)}")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise ValueError(f"split fractions must be >= 0 and sum to 1: {self.split_fractions}")
        get_preset(self.preset)

    @property
    def thresholds(self) -> Preset:
        """The preset scaled to this config's resolution."""
        return get_preset(self.preset).at_resolution(self.voxel.resolution)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists, as they come back from a JSON file)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerateConfig:
        """Inverse of to_dict; unknown keys are an error so typos do not pass silently."""
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        if "voxel" in data:
            data["voxel"] = VoxelConfig(**data["voxel"])
        if "select" in data:
            data["select"] = SelectConfig(**data["select"])
        for key in ("split_fractions", "holdout_families"):
            if key in data:
                data[key] = tuple(data[key])
        if data.get("families") is not None:
            data["families"] = tuple(data["families"])
        return cls(**data)


OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
SELECTIONS = ("final", "val_f1")  # which epoch's weights train keeps as best.pt

DIST_BACKENDS = ("auto", "torch", "horovod")
"""`printability train --dist`: auto = torch.distributed under torchrun, else one process."""


PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def documented(default: Any, help: str, **option: Any) -> Any:
    """A config field with its documentation, from which cli.py makes its command-line option:
    `help` says what it does; `option` may add argparse's `choices` or another `flag`."""
    return field(default=default, metadata={"help": help, **option})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on besides the data; stored in every checkpoint.

    `printability train` has one option per field (cli.py), with the field's help as its text.
    A help for a field whose default is None says what None means.
    """

    model: str = documented("distnet", "the network, as `printability models` lists them")
    input: str | None = documented(
        None, "what the network reads (default: the model's own; see `printability models`)"
    )
    width: float = documented(1.0, "channel width multiplier")
    dropout: float | None = documented(None, "dropout rate (default: the model's own)")
    epochs: int = documented(25, "epochs of the learning-rate schedule")
    batch_size: int = documented(32, "samples per step on each process")
    lr: float = documented(2e-3, "peak learning rate, reached after the warm-up")
    optimizer: str = documented("adamw", "the optimiser", choices=OPTIMIZERS)
    momentum: float = documented(0.9, "SGD momentum (beta1 of Adam and AdamW)")
    weight_decay: float = documented(0.05, "weight decay (decoupled from the gradient in AdamW)")
    warmup_epochs: float = documented(0.5, "epochs of linear warm-up, then cosine decay to 0")
    location_weight: float = documented(
        1.0, "weight of the defect-location loss for models with that head (0: off)"
    )
    patience: int | None = documented(
        None,
        "early stopping after N epochs without a better validation F1 (default: none, the "
        "schedule runs to its end, and --select picks what best.pt keeps)",
    )
    select: str = documented(
        "final",
        "best.pt: the final weights of a schedule run to its end, or the epoch with the best "
        "validation F1",
        choices=SELECTIONS,
    )
    augment: bool = documented(True, "the 48 rotations and flips of the cube")
    precision: str = documented(
        "auto",
        "mixed precision: auto (bf16 where native, else fp16 on a GPU, else fp32)",
        choices=PRECISIONS,
    )
    channels_last: bool = documented(True, "channels-last memory layout of the 3D tensors")
    num_workers: int = documented(1, "DataLoader worker processes per process", flag="--workers")
    seed: int = documented(0, "seed of the initial weights, the data order and the augmentation")
    max_train_samples: int | None = documented(
        None, "train on the first N samples of the training split (default: all; quick runs)"
    )

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {self.patience}")
        if self.select not in SELECTIONS:
            raise ValueError(f"unknown select {self.select!r}; choose from {SELECTIONS}")
        if self.location_weight < 0:
            raise ValueError(f"location_weight must be >= 0, got {self.location_weight}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_dict; unknown keys are an error so typos do not pass silently."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training config keys: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class TuneConfig:
    """One `printability tune` call: the study it adds trials to and how each trial trains.

    `epochs`, `max_train_samples` and `seed` override the fixed TrainConfig fields of every
    trial; `seed` also seeds the sampler (give each of several processes its own, or none).
    """

    trials: int = 20  # trials this call adds to the study
    storage: str | None = None  # an SQLAlchemy URL; None: sqlite:///optuna.db in the current folder
    study_name: str = "printability"  # reused if it exists in `storage`
    epochs: int = 6  # per trial
    timeout: float | None = None  # no new trial after this many seconds
    models: tuple[str, ...] = ("distnet",)  # the architectures searched
    seed: int | None = None
    max_train_samples: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))  # a list given reads the same
        if self.trials < 1 or self.epochs < 1:
            raise ValueError(f"trials and epochs must be >= 1, got {self.trials} and {self.epochs}")
