"""The evaluation report's plots: ROC, precision-recall, confusion matrix, reliability diagram,
accuracy per defect class and by hole radius / wall thickness. Several models overlay in one
plot, so comparing them is one look.

Figures are `matplotlib.figure.Figure` objects saved through the Agg canvas (see render.py):
nothing is registered with pyplot, no display is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from printability.evaluate.metrics import calibration_bins
from printability.evaluate.predict import Predictions
from printability.render import save_figure

CLASS_NAMES = ("not printable", "printable")  # label 0, label 1


def plot_roc(results: list[Predictions], out_png: str | Path) -> Path:
    """ROC curves of every model, AUC in the legend; the diagonal is chance."""
    from sklearn.metrics import roc_auc_score, roc_curve

    def draw(ax, result: Predictions) -> None:
        fpr, tpr, _ = roc_curve(result.labels, result.probabilities)
        auc = roc_auc_score(result.labels, result.probabilities)
        ax.plot(fpr, tpr, lw=1.8, label=f"{result.name} (AUC {auc:.3f})")

    ax, fig = _overlay(results, draw)
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate (printable)", title="ROC")
    _finish(ax)
    return save_figure(fig, out_png)


def plot_precision_recall(results: list[Predictions], out_png: str | Path) -> Path:
    """Precision-recall curves (printable positive), average precision in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    def draw(ax, result: Predictions) -> None:
        precision, recall, _ = precision_recall_curve(result.labels, result.probabilities)
        ap = average_precision_score(result.labels, result.probabilities)
        ax.step(recall, precision, where="post", lw=1.8, label=f"{result.name} (AP {ap:.3f})")

    ax, fig = _overlay(results, draw)
    ax.axhline(float(np.mean(results[0].labels)), ls="--", color="0.6", lw=1)
    ax.set(xlabel="recall", ylabel="precision", title="precision-recall (printable positive)")
    _finish(ax)
    return save_figure(fig, out_png)


def _overlay(results: list[Predictions], draw) -> tuple:
    """One axes with `draw(ax, result)` called for every model that has both classes (curves
    are undefined otherwise)."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    for result in results:
        if len(np.unique(result.labels)) == 2:
            draw(ax, result)
    return ax, fig


def plot_confusions(results: list[Predictions], out_png: str | Path) -> Path:
    """One confusion matrix per model: rows true class, columns predicted, counts annotated."""
    from printability.evaluate.metrics import confusion

    fig = Figure(figsize=(3.6 * len(results), 3.6))
    for k, result in enumerate(results):
        ax = fig.add_subplot(1, len(results), k + 1)
        matrix = confusion(result.labels, result.predicted)
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1, matrix.max()))
        for (i, j), count in np.ndenumerate(matrix):
            color = "white" if count > matrix.max() / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=13)
        ax.set_xticks([0, 1], CLASS_NAMES)
        ax.set_yticks([0, 1], CLASS_NAMES, rotation=90, va="center")
        ax.set(xlabel="predicted", ylabel="true", title=result.name)
    fig.tight_layout()
    return save_figure(fig, out_png)


def plot_reliability(results: list[Predictions], out_png: str | Path, bins: int = 10) -> Path:
    """Reliability diagram: observed printable fraction against predicted probability per bin
    (marker size ~ count); the diagonal is perfect calibration."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    for result in results:
        rows = calibration_bins(result.labels, result.probabilities, bins)
        x = [r["mean_probability"] for r in rows]
        y = [r["printable_fraction"] for r in rows]
        sizes = [10 + 200 * r["count"] / len(result.labels) for r in rows]
        (line,) = ax.plot(x, y, lw=1.5, label=result.name)
        ax.scatter(x, y, s=sizes, color=line.get_color(), zorder=3)
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1)
    ax.set(
        xlabel="predicted P(printable)",
        ylabel="observed printable fraction",
        title="calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    _finish(ax)
    return save_figure(fig, out_png)


def plot_per_defect(table: dict[str, dict[str, dict]], out_png: str | Path) -> Path:
    """Grouped bars: accuracy per defect class for each model (`table[model][defect]`)."""
    models = list(table)
    defects = sorted({d for per_model in table.values() for d in per_model})
    fig = Figure(figsize=(max(6, 1.6 * len(defects) * max(1, len(models)) / 2), 4.2))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(models))
    x = np.arange(len(defects))
    for k, model in enumerate(models):
        accuracy = [table[model].get(d, {}).get("accuracy", np.nan) for d in defects]
        bars = ax.bar(x + (k - (len(models) - 1) / 2) * width, accuracy, width, label=model)
        for bar, value in zip(bars, accuracy, strict=True):
            if np.isfinite(value):
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    value + 0.01,
                    f"{value:.2f}",
                    ha="center",
                    fontsize=7,
                )
    counts = [next(iter(table.values())).get(d, {}).get("count", 0) for d in defects]
    ax.set_xticks(x, [f"{d}\n(n={n})" for d, n in zip(defects, counts, strict=True)])
    ax.set(ylabel="accuracy", ylim=(0, 1.08), title="accuracy per defect class")
    _finish(ax, loc="lower left")
    return save_figure(fig, out_png)


def plot_by_measure(
    table: dict[str, dict[str, list[dict]]],
    out_png: str | Path,
    thresholds: dict | None = None,
) -> Path:
    """Accuracy by hole radius and by wall thickness (`table[model][measure]` = accuracy_by_bin
    rows), with the dataset's printable / not-printable limits as dashed lines."""
    measures = (("hole_radius_vox", "hole radius (voxels)", ("r_np", "r_p")),
                ("wall_vox", "thinnest wall (voxels)", ("b_np", "b_p")))  # fmt: skip
    fig = Figure(figsize=(11, 4.2))
    for k, (key, label, limit_keys) in enumerate(measures):
        ax = fig.add_subplot(1, 2, k + 1)
        for model, rows_by_measure in table.items():
            rows = [r for r in rows_by_measure.get(key, []) if r["count"]]
            centres = [(r["low"] + r["high"]) / 2 for r in rows]
            ax.plot(centres, [r["accuracy"] for r in rows], marker="o", lw=1.5, label=model)
        for name in limit_keys:
            if thresholds and name in thresholds:
                ax.axvline(thresholds[name], ls="--", color="0.5", lw=1)
                ax.text(thresholds[name], 0.02, f" {name}", color="0.4", fontsize=8)
        ax.set(xlabel=label, ylabel="accuracy", ylim=(0, 1.05), title=f"accuracy by {label}")
        _finish(ax, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, out_png)


def _finish(ax, loc: str = "lower right") -> None:
    """Grid and a legend when there is something to label."""
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc=loc, fontsize=8)
