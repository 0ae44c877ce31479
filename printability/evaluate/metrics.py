"""Binary classification metrics with printable (label 1) as the positive class."""

from __future__ import annotations

import numpy as np


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """[[tn, fp], [fn, tp]] for 0/1 arrays, printable (1) positive."""
    labels, predicted = np.asarray(labels).astype(int), np.asarray(predicted).astype(int)
    return np.array(
        [
            [np.sum((labels == 0) & (predicted == 0)), np.sum((labels == 0) & (predicted == 1))],
            [np.sum((labels == 1) & (predicted == 0)), np.sum((labels == 1) & (predicted == 1))],
        ]
    )


def scores_from_confusion(matrix: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from a confusion matrix (0 where undefined)."""
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=float).tolist()  # plain floats: JSON, torch
    total = tn + fp + fn + tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / total if total else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def predicts_one_class(matrix: np.ndarray | list[list[int]]) -> str | None:
    """The one class a classifier gave every sample ("printable" or "not printable") when its
    confusion matrix [[tn, fp], [fn, tp]] shows only one, else None.

    Why: on balanced data a network stuck on "printable" still scores F1 0.667, as the 2021
    study's ResNet did; this names that failure instead of leaving it to be read off a matrix."""
    (tn, fp), (fn, tp) = np.asarray(matrix).tolist()
    if tn + fn + fp + tp == 0:
        return None
    if tn + fn == 0:
        return "printable"
    if fp + tp == 0:
        return "not printable"
    return None


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict:
    """The headline figures of one classifier: accuracy, precision, recall, F1 (printable
    positive), ROC AUC, average precision, expected calibration error and the confusion matrix."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    matrix = confusion(labels, probabilities >= threshold)
    both_classes = len(np.unique(labels)) == 2  # AUC and AP need both classes present
    return {
        **scores_from_confusion(matrix),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
        "average_precision": (
            float(average_precision_score(labels, probabilities)) if both_classes else float("nan")
        ),
        "ece": expected_calibration_error(labels, probabilities),
        "confusion_matrix": matrix.tolist(),
        "predicts_one_class": predicts_one_class(matrix),
        "n": int(len(labels)),
        "threshold": threshold,
    }


def calibration_bins(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> list[dict[str, float]]:
    """Reliability diagram data: per equal-width probability bin, its count, mean predicted
    probability and observed printable fraction (empty bins are left out)."""
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "count": int(mask.sum()),
                    "mean_probability": float(probabilities[mask].mean()),
                    "printable_fraction": float(labels[mask].mean()),
                }
            )
    return rows


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
    """Count-weighted mean gap between predicted probability and observed frequency, over
    equal-width bins (Guo et al. 2017); 0 is perfectly calibrated."""
    rows = calibration_bins(labels, probabilities, bins)
    total = sum(r["count"] for r in rows)
    if not total:
        return float("nan")
    gaps = [r["count"] * abs(r["mean_probability"] - r["printable_fraction"]) for r in rows]
    return float(sum(gaps) / total)


def accuracy_by_group(groups: list[str], labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Per group (e.g. defect class): sample count, accuracy and number of errors."""
    labels, predicted = np.asarray(labels).astype(int), np.asarray(predicted).astype(int)
    out = {}
    for group in sorted(set(groups)):
        mask = np.array([g == group for g in groups])
        errors = int((labels[mask] != predicted[mask]).sum())
        count = int(mask.sum())
        out[group] = {"count": count, "accuracy": 1 - errors / count, "errors": errors}
    return out


def accuracy_by_bin(
    values: np.ndarray, labels: np.ndarray, predicted: np.ndarray, edges: list[float]
) -> list[dict]:
    """Accuracy of the samples whose `values` (e.g. hole radius) fall in [edges[i], edges[i+1]);
    NaN values (no hole) are left out. Empty bins are kept with count 0 so tables line up."""
    values = np.asarray(values, dtype=float)
    correct = np.asarray(labels).astype(int) == np.asarray(predicted).astype(int)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        mask = (values >= low) & (values < high)
        count = int(mask.sum())
        rows.append(
            {
                "low": low,
                "high": high,
                "count": count,
                "accuracy": float(correct[mask].mean()) if count else float("nan"),
            }
        )
    return rows
