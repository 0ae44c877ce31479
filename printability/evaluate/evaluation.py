"""`printability evaluate`: one or more checkpoints (and the rule baseline) on one split, with
the figures, tables and plots of the report, metrics.json and predictions.csv.

The analysis answers three questions: how good (accuracy, F1, ROC AUC, calibration), where it
fails (per defect class, by hole radius and wall thickness, the worst failures by name), and
compared with what (every model and the rule baseline side by side).
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from printability.data.store import VoxelDataset, open_dataset
from printability.evaluate import plots
from printability.evaluate.metrics import accuracy_by_bin, accuracy_by_group, binary_metrics
from printability.evaluate.predict import DECISION_THRESHOLD, Predictions, predict_checkpoint
from printability.train.checkpoint import load_checkpoint

PREDICTION_COLUMNS = (
    "sample_id", "split", "label", "defect", "hole_radius_vox", "wall_vox", "n_holes",
    "part_kind", "source", "probability",
)  # fmt: skip


def analyse(result: Predictions, thresholds: dict | None = None) -> dict[str, Any]:
    """Every figure of one model on one split: metrics, per-defect and per-part-family tables,
    accuracy by hole radius and by wall thickness, and its inference speed."""
    labels, predicted = result.labels, result.predicted
    metrics = binary_metrics(labels, result.probabilities)
    for key, column in (("per_defect", "defect"), ("per_part_kind", "part_kind")):
        groups = [str(r.get(column, "?")) for r in result.records]
        metrics[key] = accuracy_by_group(groups, labels, predicted)
    for key, edges in measure_edges(result.records, thresholds).items():
        values = np.array([_number(r.get(key)) for r in result.records])
        metrics[f"by_{key}"] = accuracy_by_bin(values, labels, predicted, edges)
    metrics["samples_per_second"] = round(result.samples_per_second, 1)
    return metrics


def measure_edges(records: list[dict], thresholds: dict | None) -> dict[str, list[float]]:
    """Bin edges for hole radius and wall thickness: steps of r_p / 6 and b_p / 4 (1 voxel each
    at the 64^3 seed preset) up to the largest value present."""
    thresholds = thresholds or {}
    steps = {
        "hole_radius_vox": thresholds.get("r_p", 6.0) / 6,
        "wall_vox": thresholds.get("b_p", 4.0) / 4,
    }
    edges = {}
    for key, step in steps.items():
        values = [v for v in (_number(r.get(key)) for r in records) if math.isfinite(v)]
        top = max(values, default=step)
        edges[key] = [round(step * i, 6) for i in range(int(top / step) + 2)]
    return edges


def failures(result: Predictions, limit: int | None = None) -> list[dict[str, Any]]:
    """The misclassified samples, most confidently wrong first, each named by its sample id so
    that a failure can be looked up and rendered."""
    wrong = np.flatnonzero(result.predicted != result.labels)
    confidence_in_error = np.abs(result.probabilities[wrong] - result.labels[wrong])
    order = wrong[np.argsort(-confidence_in_error, kind="stable")]
    rows = []
    for i in order[:limit]:
        record = result.records[int(i)]
        rows.append(
            {
                "position": int(i),
                "sample_id": record["sample_id"],
                "defect": record.get("defect", ""),
                "label": int(record["label"]),
                "probability": float(result.probabilities[i]),
                "hole_radius_vox": _number(record.get("hole_radius_vox")),
                "wall_vox": _number(record.get("wall_vox")),
                "pitch_mm": _number(record.get("pitch_mm")),
            }
        )
    return rows


def shared_errors(first: Predictions, other: Predictions) -> list[str]:
    """Sample ids both models get wrong: errors every model makes point at hard or doubtful
    samples (e.g. labels near a limit), errors only one makes at what that model misses."""
    wrong = {r["sample_id"] for r, ok in zip(first.records, first.predicted == first.labels,
                                               strict=True) if not ok}  # fmt: skip
    return [
        r["sample_id"]
        for r, ok in zip(other.records, other.predicted == other.labels, strict=True)
        if not ok and r["sample_id"] in wrong
    ]


def checkpoint_name(path: Path, taken: set[str]) -> str:
    """A short, unique display name: the model and its run folder, e.g. 'fastnet (run)' (the
    folder above when the run folder is named after the model, as bench/train.py makes them)."""
    model = load_checkpoint(path)["model"]
    folder = Path(path).resolve().parent  # a relative path names its folder too
    run = folder.name if folder.name != model else folder.parent.name
    name = f"{model} ({run})"
    base, k = name, 2
    while name in taken:
        name, k = f"{base} #{k}", k + 1
    taken.add(name)
    return name


def _model_entries(
    results: list[Predictions],
    analyses: dict[str, dict],
    checkpoints: list[str | Path],
    dataset_config: dict | None,
) -> dict[str, dict]:
    """Every model's figures with the checkpoint it came from, the dataset that checkpoint was
    trained on, and whether that dataset was made with this one's config (the same samples and
    splits: its training split is none of this split); None for the rule baseline, last."""
    entries = {}
    for result, path in zip(results, [*checkpoints, None], strict=False):
        name, a, data = result.name, analyses[result.name], result.checkpoint_data or {}
        entries[name] = {
            **a,
            "checkpoint": str(path) if path else None,
            "trained_on": data.get("dataset"),
            "trained_on_this_data": None if path is None
            else data.get("generate_config") == dataset_config,
        }  # fmt: skip
    return entries


def _pitch_range(records: list[dict]) -> list[float] | None:
    """The smallest and largest voxel size of the evaluated samples, in mm (None: unknown)."""
    pitches = [float(r["pitch_mm"]) for r in records if r.get("pitch_mm") not in (None, "")]
    return [min(pitches), max(pitches)] if pitches else None


def evaluate(
    checkpoints: list[str | Path],
    data: str | Path,
    out: str | Path,
    *,
    split: str = "test",
    baseline: bool = True,
    batch_size: int = 64,
    tta: int = 1,
    gallery: int = 12,
    track: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate `checkpoints` (and the rule baseline) on one split of `data`; write
    metrics.json, predictions.csv, the plots and report.html to `out`. Returns metrics.json.

    metrics.json holds the first checkpoint's figures at the top level (the contract in
    docs/cli.md) and every model's under "models"."""
    if not checkpoints:
        raise ValueError("give at least one --checkpoint")
    if gallery < 0:
        raise ValueError(f"--gallery must be 0 or more, got {gallery}")
    out = Path(out)
    dataset = open_dataset(data)
    thresholds = dataset.info.get("thresholds")
    taken: set[str] = set()
    results = [
        predict_checkpoint(
            path,
            dataset,
            split=split,
            batch_size=batch_size,
            tta=tta,
            progress=progress,
            name=checkpoint_name(Path(path), taken),
        )
        for path in checkpoints
    ]
    if baseline:
        results.append(_rule_predictions(dataset, split, progress))
    analyses = {r.name: analyse(r, thresholds) for r in results}
    for result in results[1:]:
        analyses[result.name]["errors_shared_with_first"] = shared_errors(results[0], result)
    out.mkdir(parents=True, exist_ok=True)
    primary = results[0]
    metrics = {
        "model": primary.name,
        "checkpoint": str(checkpoints[0]),
        "data": str(data),
        "split": split,
        "tta": tta,
        **analyses[primary.name],
        "failures": [
            {
                **row,
                "also_wrong_in": [
                    n
                    for n, a in analyses.items()
                    if row["sample_id"] in a.get("errors_shared_with_first", [])
                ],
            }
            for row in failures(primary, limit=50)
        ],  # fmt: skip
        "models": _model_entries(results, analyses, checkpoints, dataset.info.get("config")),
        "pitch_mm_range": _pitch_range(primary.records),
    }
    (out / "metrics.json").write_text(json.dumps(_finite(metrics), indent=2) + "\n")
    write_predictions(results, out / "predictions.csv")
    figures = draw_plots(results, analyses, thresholds, out)
    gallery_pngs = draw_gallery(dataset, primary, out / "gallery", gallery)
    from printability.evaluate.report import write_report

    write_report(out / "report.html", metrics, figures, gallery_pngs, dataset_info=dataset.info)
    if track:
        for path, result in zip(checkpoints, results, strict=False):
            _log_to_training_run(Path(path), analyses[result.name], split, out)
    return metrics


def write_predictions(results: list[Predictions], path: Path) -> None:
    """predictions.csv: one row per sample with its label, defect, hole measurements, the first
    model's probability, and a p_<model> column per model."""
    extra = []
    for result in results:  # unique columns even when two names slug alike
        column, k = f"p_{_slug(result.name)}", 2
        while column in extra:
            column, k = f"p_{_slug(result.name)}_{k}", k + 1
        extra.append(column)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*PREDICTION_COLUMNS, *extra])
        for i, record in enumerate(results[0].records):
            row = [_csv_value(record.get(c, "")) for c in PREDICTION_COLUMNS[:-1]]
            probabilities = [f"{r.probabilities[i]:.6f}" for r in results]
            writer.writerow([*row, probabilities[0], *probabilities])


def draw_plots(
    results: list[Predictions], analyses: dict[str, dict], thresholds: dict | None, out: Path
) -> dict[str, Path]:
    """Every plot of the report as a PNG in `out`; returns {title: path}."""
    return {
        "ROC": plots.plot_roc(results, out / "roc.png"),
        "precision-recall": plots.plot_precision_recall(results, out / "precision_recall.png"),
        "confusion matrices": plots.plot_confusions(results, out / "confusion.png"),
        "accuracy per defect class": plots.plot_per_defect(
            {name: a["per_defect"] for name, a in analyses.items()}, out / "per_defect.png"
        ),
        "accuracy by hole radius and wall": plots.plot_by_measure(
            {
                name: {k[3:]: v for k, v in a.items() if k.startswith("by_")}
                for name, a in analyses.items()
            },
            out / "by_measure.png",
            thresholds,
        ),
        "calibration": plots.plot_reliability(results, out / "calibration.png"),
    }


def draw_gallery(
    dataset: VoxelDataset, result: Predictions, folder: Path, count: int
) -> list[tuple[dict, Path]]:
    """Renders (slices + 3-D view) of the `count` worst failures, captioned with the verdict;
    a thin wall is drawn from the dataset's defect mask, the voxels its label was decided on."""
    from printability.render import render_sample

    index_of = {r["sample_id"]: i for i, r in enumerate(dataset.records)}
    thresholds = dataset.info.get("thresholds")
    pictures = []
    for row in failures(result, limit=count):
        index = index_of[row["sample_id"]]
        voxels, record = dataset[index]
        thin = dataset.defect_mask(index) if record.get("defect") == "thin_wall" else None
        verdict = "printable" if row["probability"] >= DECISION_THRESHOLD else "not printable"
        note = f"{result.name}: P(printable) = {row['probability']:.3f}, judged {verdict}"
        png = render_sample(
            voxels, record, folder / f"{row['sample_id']}.png", max_voxels_3d=64, note=note,
            figsize=(14, 4), thresholds=thresholds, thin_wall=thin,
        )  # fmt: skip
        pictures.append((row, png))
    return pictures


def _rule_predictions(dataset: VoxelDataset, split: str, progress: bool) -> Predictions:
    """The rule-based baseline's P(printable) on the split (see evaluate.rules)."""
    from printability.evaluate.rules import predict_split

    return predict_split(dataset, split, progress=progress)


def _log_to_training_run(checkpoint: Path, analysis: dict, split: str, out: Path) -> None:
    """Add the evaluation to the MLflow run that trained the checkpoint, when that run is in
    the store: metrics `eval_<split>_*` and the report under `eval_<split>/`. Logged through
    the client, so the run's status (e.g. KILLED) is left as it was, and no store is created."""
    run_id = _training_run_id(checkpoint)
    if run_id is None:
        return
    import os

    from mlflow import MlflowClient

    from printability.train.tracking import DEFAULT_STORE

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri is None:
        if not Path(DEFAULT_STORE).exists():
            return  # trained with --no-mlflow or elsewhere: nothing to add to
        uri = f"sqlite:///{Path(DEFAULT_STORE).resolve()}"
    client = MlflowClient(tracking_uri=uri)
    try:
        client.get_run(run_id)
    except Exception as exc:  # the run lives in another store
        print(f"{checkpoint}: evaluation not logged to MLflow run {run_id} ({type(exc).__name__})")
        return
    keys = ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "ece")
    for key in keys:
        if _is_finite(analysis[key]):
            client.log_metric(run_id, f"eval_{split}_{key}", float(analysis[key]))
    for name in ("report.html", "metrics.json"):  # in a folder: training's metrics.json stays
        client.log_artifact(run_id, str(out / name), artifact_path=f"eval_{split}")


def _training_run_id(checkpoint: Path) -> str | None:
    """The MLflow run id stored in the checkpoint, or in the last.pt next to it."""
    for path in (checkpoint, checkpoint.with_name("last.pt")):
        if path.is_file():
            payload = load_checkpoint(path)
            run_id = payload.get("run_id") or payload.get("loop_state", {}).get("run_id")
            if run_id:
                return str(run_id)
    return None


def _number(value: Any) -> float:
    """A manifest value as float, NaN when empty."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _csv_value(value: Any) -> Any:
    """Empty for NaN (no hole), the value otherwise."""
    return "" if isinstance(value, float) and math.isnan(value) else value


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _finite(value: Any) -> Any:
    """NaN and infinities to None, so metrics.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _slug(name: str) -> str:
    """A model name as a CSV column suffix: 'fastnet (run)' -> 'fastnet_run'."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_")
