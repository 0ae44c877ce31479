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
