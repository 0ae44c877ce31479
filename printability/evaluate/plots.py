"""The evaluation report's plots: ROC, precision-recall, confusion matrix, reliability diagram,
accuracy per defect class and by hole radius / wall thickness. Several models overlay in one
plot, so comparing them is one look.

Figures are `matplotlib.figure.Figure` objects saved through the Agg canvas (see render.py):
nothing is registered with pyplot, no display is needed. Legends sit below the axes and bins
with no sample are gaps in the curves, with the sample count of every bin shown, so a point
backed by one sample is not read like one backed by fifty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from printability.evaluate.metrics import calibration_bins
from printability.evaluate.predict import Predictions
from printability.render import save_figure

CLASS_NAMES = ("not printable", "printable")  # label 0, label 1
LIMIT_COLOR = "0.45"
COUNT_COLOR = "0.6"
RELIABILITY_NOTE = (
    "A point: the samples whose predicted P(printable) falls in one bin of width {width:g};\n"
    "x = their mean prediction, y = the fraction really printable. Dashed: perfect\n"
    "calibration. Marker size and the bars below: samples in the bin (none: a gap)."
)


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
    _finish(fig, [ax])
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
    _finish(fig, [ax])
    return save_figure(fig, out_png)


def _overlay(results: list[Predictions], draw) -> tuple:
    """One axes with `draw(ax, result)` called for every model that has both classes (curves
    are undefined otherwise)."""
    fig = Figure(figsize=(5.5, 5.4), layout="constrained")
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


def reliability_series(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> dict[str, np.ndarray]:
    """Every equal-width bin's mean predicted probability (x), observed printable fraction (y)
    and sample count, plus the bin edges; x and y are NaN in empty bins so a line breaks there."""
    x, y, count = np.full(bins, np.nan), np.full(bins, np.nan), np.zeros(bins, int)
    for row in calibration_bins(labels, probabilities, bins):
        b = int(round(row["low"] * bins))
        x[b], y[b], count[b] = row["mean_probability"], row["printable_fraction"], row["count"]
    return {"x": x, "y": y, "count": count, "edges": np.linspace(0, 1, bins + 1)}


def plot_reliability(results: list[Predictions], out_png: str | Path, bins: int = 10) -> Path:
    """Reliability diagram: observed printable fraction against predicted probability per bin
    (marker size ~ count), the diagonal perfect calibration, and samples per bin below."""
    fig = Figure(figsize=(5.5, 7.2), layout="constrained")
    curve, bars = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.1))
    for k, result in enumerate(results):
        series = reliability_series(result.labels, result.probabilities, bins)
        sizes = 10 + 200 * series["count"] / max(1, len(result.labels))
        (line,) = curve.plot(series["x"], series["y"], lw=1.5, label=result.name)
        curve.scatter(series["x"], series["y"], s=sizes, color=line.get_color(), zorder=3)
        _count_bars(bars, series["edges"], series["count"], (k, len(results)), line.get_color())
    curve.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1)
    margin = (-0.03, 1.03)  # points at 0 and 1 are common: keep their markers whole
    curve.set(ylabel="observed printable fraction", xlim=margin, ylim=margin)
    curve.set_title(RELIABILITY_NOTE.format(width=1 / bins), fontsize=8, loc="left")
    fig.suptitle("calibration (reliability diagram)")
    bars.set(xlabel="predicted P(printable)", ylabel="samples in bin")
    _finish(fig, [curve, bars])
    return save_figure(fig, out_png)


def _count_bars(
    ax: Axes, edges: np.ndarray, counts: np.ndarray, slot: tuple[int, int], color
) -> None:
    """Bars of `counts` per bin (log scale: one sample stays visible beside hundreds), side by
    side for `slot` = (this series, number of series), each labelled with its count."""
    k, n = slot
    width = np.diff(edges) * 0.85 / n
    left = edges[:-1] + np.diff(edges) * 0.075 + k * width
    shown = counts > 0
    ax.bar(left[shown], counts[shown], width[shown], align="edge", color=color, alpha=0.75)
    for x, count in zip(left[shown] + width[shown] / 2, counts[shown], strict=True):
        ax.text(x, count * 1.15, str(count), ha="center", va="bottom", fontsize=6.5)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))  # 1, 10, 100, not 10^0, 10^1
    top = max(ax.get_ylim()[1], float(counts.max(initial=1)) * 4)
    ax.set_ylim(0.7, top)  # room above the tallest bar for its label


def plot_per_defect(table: dict[str, dict[str, dict]], out_png: str | Path) -> Path:
    """Grouped bars: accuracy per defect class for each model (`table[model][defect]`)."""
    models = list(table)
    defects = sorted({d for per_model in table.values() for d in per_model})
    fig_width = max(6, 1.6 * len(defects) * max(1, len(models)) / 2)
    fig = Figure(figsize=(fig_width, 4.6), layout="constrained")
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
    _finish(fig, [ax], columns=4)
    return save_figure(fig, out_png)


def measure_series(rows: list[dict]) -> dict[str, np.ndarray]:
    """Bin centres, accuracy and sample count of `accuracy_by_bin` rows, with the accuracy NaN
    in empty bins so a line through it breaks there instead of bridging the gap."""
    count = np.array([int(r["count"]) for r in rows], dtype=int)
    accuracy = np.array([float(r["accuracy"]) if r["count"] else np.nan for r in rows])
    edges = np.array([r["low"] for r in rows[:1]] + [r["high"] for r in rows], dtype=float)
    return {"x": (edges[:-1] + edges[1:]) / 2, "y": accuracy, "count": count, "edges": edges}


def plot_by_measure(
    table: dict[str, dict[str, list[dict]]],
    out_png: str | Path,
    thresholds: dict | None = None,
) -> Path:
    """Accuracy by hole radius and by wall thickness (`table[model][measure]` = accuracy_by_bin
    rows) over the samples per bin, the dataset's printable / not-printable limits dashed."""
    measures = (("hole_radius_vox", "hole radius (voxels)", ("r_np", "r_p")),
                ("wall_vox", "thinnest wall (voxels)", ("b_np", "b_p")))  # fmt: skip
    fig = Figure(figsize=(11, 5.8), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1.1))
    axes = []
    for k, (key, label, limit_keys) in enumerate(measures):
        ax = fig.add_subplot(grid[0, k])
        counts_ax = fig.add_subplot(grid[1, k], sharex=ax)
        ax.tick_params(labelbottom=False)
        counts = None
        for model, rows_by_measure in table.items():
            series = measure_series(rows_by_measure.get(key, []))
            ax.plot(series["x"], series["y"], marker="o", lw=1.5, label=model)
            counts = series if counts is None else counts  # same samples for every model
        if counts is not None and len(counts["count"]):
            _count_bars(counts_ax, counts["edges"], counts["count"], (0, 1), COUNT_COLOR)
        _draw_limits([ax, counts_ax], thresholds or {}, limit_keys)
        ax.set(ylabel="accuracy", ylim=(-0.03, 1.05), title=f"accuracy by {label}")
        counts_ax.set(xlabel=label, ylabel="samples in bin")
        axes += [ax, counts_ax]
    _finish(fig, axes, columns=4)
    return save_figure(fig, out_png)


def _draw_limits(axes: list[Axes], thresholds: dict, names: tuple[str, ...]) -> None:
    """Dashed lines at the named thresholds in every axes, named on a top axis of the first so
    that no curve, bar or legend can hide a name."""
    shown = [n for n in names if n in thresholds]
    for ax in axes:
        for name in shown:
            ax.axvline(thresholds[name], ls="--", color=LIMIT_COLOR, lw=1)
    if shown:
        top = axes[0].secondary_xaxis("top")
        top.set_xticks([thresholds[n] for n in shown], [f"{n} {thresholds[n]:g}" for n in shown])
        top.tick_params(labelsize=8, colors=LIMIT_COLOR)


def _finish(fig: Figure, axes: list[Axes], columns: int = 2) -> None:
    """Grids, and one legend for the figure below the axes, where it covers no data."""
    for ax in axes:
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncol=min(columns, len(handles)),
            fontsize=8, frameon=False,
        )  # fmt: skip
