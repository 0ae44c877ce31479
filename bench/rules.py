"""Benchmark: the rule-based baseline (printability.evaluate.rules) on one split of a dataset.

Prints accuracy, precision, recall, F1 (printable positive), ROC AUC, the confusion matrix,
accuracy per defect class, the measuring time per sample, and how close the size estimates come
to the labels (hole diameter on small_hole samples, wall on thin_wall samples).

Run: .venv/bin/python bench/rules.py --data /tmp/d64_4k [--split test] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from tqdm import tqdm

from printability.data import open_dataset
from printability.evaluate.metrics import confusion, scores_from_confusion
from printability.evaluate.rules import RuleBaseline


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(data: Path, split: str, limit: int | None) -> dict:
    """Measure every sample of `split`, then score the verdicts against the labels."""
    ds = open_dataset(data)
    rules = RuleBaseline.for_dataset(ds)
    indices = [i for i, r in enumerate(ds.records) if r["split"] == split][:limit]
    if not indices:
        raise SystemExit(f"{data}: no samples in split {split!r}")
    probabilities, measurements, records, seconds = [], [], [], 0.0
    for i in tqdm(indices, desc=f"rules on {split}", unit="sample"):
        voxels, record = ds[i]
        start = time.perf_counter()
        m = rules.measure(voxels)
        seconds += time.perf_counter() - start
        probabilities.append(rules.probability_from(m, voxels.shape[0]))
        measurements.append(m)
        records.append(record)
    p = np.array(probabilities)
    labels = np.array([int(r["label"]) for r in records])
    predicted = (p >= 0.5).astype(int)
    matrix = confusion(labels, predicted)
    defects = np.array([r["defect"] for r in records])
    per_defect = {
        d: {
            "count": int((defects == d).sum()),
            "accuracy": float((predicted[defects == d] == labels[defects == d]).mean()),
        }
        for d in sorted(set(defects))
    }
    return {
        "data": str(data),
        "split": split,
        "n": len(indices),
        **scores_from_confusion(matrix),
        "roc_auc": roc_auc(labels, p),
        "confusion_matrix": matrix.tolist(),
        "per_defect": per_defect,
        "ms_per_sample": 1000 * seconds / len(indices),
        "estimates": size_estimates(records, measurements),
    }


def size_estimates(records: list[dict], measurements: list) -> dict:
    """Mean and spread of (estimate - label): hole diameter vs 2 x hole_radius_vox on
    small_hole samples, thinnest wall vs wall_vox on thin_wall samples, where estimated."""
    out = {}
    for defect, field, truth in (
        ("small_hole", "min_hole_diameter_vox", lambda r: 2 * r["hole_radius_vox"]),
        ("thin_wall", "min_wall_vox", lambda r: r["wall_vox"]),
    ):
        pairs = [
            (getattr(m, field), truth(r))
            for r, m in zip(records, measurements, strict=True)
            if r["defect"] == defect and getattr(m, field) is not None
        ]
        n_class = sum(r["defect"] == defect for r in records)
        errors = np.array([e - t for e, t in pairs])
        out[field] = {
            "estimated": f"{len(pairs)}/{n_class}",
            "bias": float(errors.mean()) if len(errors) else float("nan"),
            "std": float(errors.std()) if len(errors) else float("nan"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset directory")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None, help="first N samples of the split")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    result = evaluate(args.data, args.split, args.limit)
    print(f"rule baseline on {result['data']} [{result['split']}], {result['n']} samples")
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        print(f"  {key:10s} {result[key]:.3f}")
    print(f"  confusion  {result['confusion_matrix']}  ([[tn, fp], [fn, tp]], printable positive)")
    print(f"  speed      {result['ms_per_sample']:.1f} ms/sample (measuring only)")
    print("  per defect:")
    for defect, row in result["per_defect"].items():
        print(f"    {defect:15s} {row['accuracy']:.3f}  (n={row['count']})")
    print("  size estimates (estimate - label, voxels):")
    for field, row in result["estimates"].items():
        print(
            f"    {field:22s} bias {row['bias']:+.2f}  std {row['std']:.2f}  [{row['estimated']}]"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
