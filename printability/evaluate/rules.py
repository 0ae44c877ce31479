"""The rule-based printability baseline: the rule measurements (geometry.rule_sizes) turned into
verdicts and probabilities, with no learning.

A part is not printable when its narrow-hole or thin-wall count is above its limit; the
probability of being printable is 1 / (1 + e^SLOPE) with e the larger count-to-limit ratio, so
it falls monotonically with the evidence (0.5 at a limit) and an ROC curve can be drawn from it.
No parameter is fitted.

How the limits were chosen, by looking at the TRAIN split (3,232 samples) of a 4,000-sample 64^3
seed2021 procedural dataset, no fitting: more than 8 narrow-hole voxels in 99.8% of `small_hole`
samples and 0.4% of every other class (1.4% of plain parts without the piece rule), so holes
tolerate 8. The thin-wall count separates `thin_wall` from `printable_hole` less cleanly: more
than 8 voxels in 91.7% of thin walls, 5.7% of printable holes and 0.6% of plain parts (more than
10: 90.5% and 4.5%; more than 12: 88.7% and 3.7%); walls tolerate 8, which with the hole limit
gave the best train accuracy (10 ties it). The false alarms are mostly the thin wedges left where
a hole leaves an outer face at a slant, which the labels leave out on purpose (docs/labels.md,
"rims are left out"), and walls that the labels, measuring across the hole axis, find >= b_p but
that are thinner in 3D. Telling wedges from walls by whether the air on the two sides meets
within a few voxels moves that trade-off by only 1-2 points, so the rules do not. Limits are
voxel counts at 64^3 and scale with the grid's area; other resolutions are not calibrated.
`python bench/rules.py --data DIR` scores the baseline on a split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from printability.config import Preset
from printability.geometry.rule_sizes import (
    ResidueParams,
    RuleMeasurements,
    measure,
    thresholds_from_dict,
)

if TYPE_CHECKING:
    from printability.evaluate.predict import Predictions

REFERENCE_RESOLUTION = 64  # the grid the count limits below were chosen at


@dataclass(frozen=True)
class RuleParams(ResidueParams):
    """The rules' fixed parameters: which residue counts (ResidueParams), and the verdict's."""

    # most deep-residue voxels tolerated at 64^3 (train split, module docstring)
    hole_voxels_limit: float = 8.0
    wall_voxels_limit: float = 8.0
    # steepness of the probability in log(evidence); any fixed value gives the same ROC
    slope: float = 2.0


class RuleBaseline:
    """The rule-based classifier: thresholds in, measurements, verdicts and probabilities out."""

    def __init__(self, thresholds: Preset, params: RuleParams | None = None) -> None:
        self.thresholds = thresholds
        self.params = params or RuleParams()

    @classmethod
    def for_dataset(cls, ds: Any, params: RuleParams | None = None) -> RuleBaseline:
        """The baseline at a dataset's thresholds (its dataset.json "thresholds")."""
        return cls(thresholds_from_dict(ds.info["thresholds"]), params)

    def measure(self, voxels: np.ndarray) -> RuleMeasurements:
        """Counts and size estimates on one grid (geometry.rule_sizes.measure)."""
        return measure(voxels, self.thresholds, self.params)

    def evidence(self, m: RuleMeasurements, resolution: int = REFERENCE_RESOLUTION) -> float:
        """The larger count-to-limit ratio: above 1 means not printable. Limits scale with the
        grid's area, as the residues are sheets and tubes."""
        scale = (resolution / REFERENCE_RESOLUTION) ** 2
        return max(
            m.narrow_hole_voxels / (self.params.hole_voxels_limit * scale),
            m.thin_wall_voxels / (self.params.wall_voxels_limit * scale),
        )

    def probability_from(
        self, m: RuleMeasurements, resolution: int = REFERENCE_RESOLUTION
    ) -> float:
        """1 / (1 + evidence^slope): 1 with no evidence, 0.5 at a limit, towards 0 beyond."""
        return float(1.0 / (1.0 + self.evidence(m, resolution) ** self.params.slope))

    def probability_printable(self, voxels: np.ndarray) -> float:
        """A score in [0, 1] that falls monotonically with the evidence of a defect."""
        return self.probability_from(self.measure(voxels), voxels.shape[0])

    def is_printable(self, voxels: np.ndarray) -> bool:
        """The verdict: no count above its limit (probability >= 0.5)."""
        return self.probability_printable(voxels) >= 0.5

    def predict_dataset(self, ds: Any, indices: Any = None, progress: bool = True) -> np.ndarray:
        """P(printable) for samples `indices` (default all) of an open dataset, in that order."""
        indices = range(len(ds)) if indices is None else indices
        out = []
        for i in tqdm(indices, desc="rules", unit="sample", disable=not progress):
            voxels, _ = ds[int(i)]
            out.append(self.probability_printable(voxels))
        return np.array(out, dtype=float)


def predict_split(
    ds: Any, split: str | None = "test", progress: bool = True, params: RuleParams | None = None
) -> Predictions:
    """The baseline as one more model for `printability evaluate`: P(printable) for every
    sample of `split` (all for None) at the dataset's thresholds, named "rules"."""
    from printability.evaluate.predict import Predictions, split_records  # imports torch

    rules = RuleBaseline.for_dataset(ds, params)
    indices = split_records(ds, split)
    start = time.perf_counter()
    probabilities = rules.predict_dataset(ds, indices, progress=progress)
    records = [ds.records[i] for i in indices]
    return Predictions("rules", records, probabilities, time.perf_counter() - start)
