"""Evaluation: metrics against scikit-learn, the confusion matrix's orientation, calibration,
the failure list naming the right samples, and `evaluate` end to end (files, report, CLI)."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from sklearn import metrics as skm

from printability.config import TrainConfig
from printability.evaluate import plots
from printability.evaluate.evaluation import evaluate, failures
from printability.evaluate.metrics import (
    accuracy_by_bin,
    accuracy_by_group,
    binary_metrics,
    confusion,
    expected_calibration_error,
    predicts_one_class,
)
from printability.evaluate.predict import Predictions


def fixed_predictions(n: int = 200, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Labels and imperfect, overlapping probabilities (about 80% right)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    probabilities = np.clip(0.5 + 0.35 * (2 * labels - 1) + rng.normal(0, 0.3, n), 0, 1)
    return labels, probabilities


def test_binary_metrics_match_scikit_learn():
    labels, probabilities = fixed_predictions()
    predicted = (probabilities >= 0.5).astype(int)
    ours = binary_metrics(labels, probabilities)
    assert 0.6 < ours["accuracy"] < 0.95  # the fixture is neither trivial nor hopeless
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))
    assert ours["precision"] == pytest.approx(skm.precision_score(labels, predicted))
    assert ours["recall"] == pytest.approx(skm.recall_score(labels, predicted))
    assert ours["f1"] == pytest.approx(skm.f1_score(labels, predicted))
    assert ours["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, probabilities))
    assert ours["average_precision"] == pytest.approx(
        skm.average_precision_score(labels, probabilities)
    )
    assert ours["confusion_matrix"] == skm.confusion_matrix(labels, predicted).tolist()


def test_confusion_matrix_is_tn_fp_fn_tp_with_printable_positive():
    labels = np.array([1, 1, 1, 0, 0])  # 1 = printable
    predicted = np.array([1, 1, 0, 1, 0])
    (tn, fp), (fn, tp) = confusion(labels, predicted).tolist()
    assert (tn, fp, fn, tp) == (1, 1, 1, 2)
    scores = binary_metrics(labels, predicted.astype(float))
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)


def test_predicts_one_class_names_the_class_a_stuck_model_gives():
    assert predicts_one_class([[0, 5], [0, 5]]) == "printable"
    assert predicts_one_class([[5, 0], [5, 0]]) == "not printable"
    assert predicts_one_class([[3, 2], [1, 4]]) is None
    assert predicts_one_class([[0, 0], [0, 0]]) is None  # nothing predicted at all
    labels = np.array([0, 1, 0, 1])
    assert binary_metrics(labels, np.full(4, 0.9))["predicts_one_class"] == "printable"
    assert binary_metrics(labels, np.array([0.1, 0.9, 0.2, 0.8]))["predicts_one_class"] is None


def test_report_marks_a_stuck_model_and_does_not_highlight_it():
    from printability.evaluate.report import _comparison_table, headline

    def scores(f1: float, matrix: list[list[int]]) -> dict:
        return {
            "accuracy": 0.5, "precision": 0.5, "recall": 1.0, "f1": f1, "roc_auc": 0.5,
            "average_precision": 0.5, "ece": 0.1, "confusion_matrix": matrix,
            "predicts_one_class": predicts_one_class(matrix), "samples_per_second": 10.0,
        }  # fmt: skip

    models = {"stuck": scores(0.667, [[0, 5], [0, 5]]), "rules": scores(0.6, [[3, 2], [2, 3]])}
    table = _comparison_table(models)
    assert "says printable for every sample" in table
    assert "<td><b>0.600</b></td>" in table and "<b>0.667</b>" not in table  # stuck: not best
    metrics = {
        **models["stuck"], "model": "stuck", "n": 10, "split": "test", "models": models,
        "per_defect": {},
    }  # fmt: skip
    assert "Not learned:</b> stuck" in headline(metrics)


def test_the_headline_says_who_is_best_by_how_many_points_and_bolds_columns():
    from printability.evaluate.report import _comparison_table, headline

    def scores(accuracy: float, ece: float, speed: float) -> dict:
        return {
            "accuracy": accuracy, "precision": 0.9, "recall": 0.9, "f1": accuracy, "roc_auc": 0.9,
            "average_precision": 0.9, "ece": ece, "confusion_matrix": [[40, 2], [3, 39]],
            "predicts_one_class": None, "samples_per_second": speed,
        }  # fmt: skip

    models = {"distnet": scores(0.891, 0.05, 200.0), "rules": scores(0.946, 0.08, 60.0)}
    metrics = {**models["distnet"], "model": "distnet", "n": 84, "split": "test",
               "models": models, "per_defect": {}}  # fmt: skip
    assert headline(metrics).startswith(
        "<b>rules is best</b> on the 84 test samples: accuracy 0.946, 5.5 points ahead of "
        "distnet (0.891)."
    )
    table = _comparison_table(models)
    assert "<td><b>0.946</b></td>" in table  # the rules' accuracy
    assert "<td><b>0.050</b></td>" in table  # the network's calibration error (lower is better)
    assert "<td><b>200</b></td>" in table and "<b>60</b>" not in table
    tie = {"a": scores(0.9, 0.1, 1.0), "b": scores(0.9, 0.1, 1.0)}
    assert "<b>a and b tie</b> on the 84 test samples at accuracy 0.900" in headline(
        {**metrics, "models": tie}
    )


def test_the_report_says_what_was_judged_and_warns_of_implausible_sizes():
    from printability.evaluate.report import _judged

    models = {
        "run": {"checkpoint": "run/best.pt", "trained_on": "data/ds", "trained_on_this_data": True},
        "old": {"checkpoint": "old.pt", "trained_on": "data/other", "trained_on_this_data": False},
        "rules": {"checkpoint": None, "trained_on": None, "trained_on_this_data": None},
    }
    metrics = {"split": "test", "models": models, "pitch_mm_range": [0.6, 0.9]}
    info = {"resolution": 64, "config": {"units": "mm"}}
    text = _judged(metrics, info)
    assert "run/best.pt, trained on data/ds, made with this dataset&#x27;s config" in text
    assert "none of the test split" in text and "old.pt, trained on data/other, another" in text
    assert "rules: the rule baseline: no training" in text
    assert "from P(printable) 0.5" in text and "Voxels 0.6-0.9 mm; source units: mm" in text
    assert "warning" not in text
    metres = _judged({**metrics, "pitch_mm_range": [111.0, 159.0]}, info)  # metres read as mm
    assert "<p class='warning'>Sizes in mm may be wrong: a part is 10.2 m across" in metres
    assert "(generate --units)" in metres
    tiny = _judged({**metrics, "pitch_mm_range": [0.001, 0.4]}, info)  # mm read as metres
    assert "a part is only 0.064 mm across" in tiny


def test_expected_calibration_error_on_known_cases():
    labels = np.ones(10, int)
    assert expected_calibration_error(labels, np.full(10, 0.9)) == pytest.approx(0.1)
    # two bins, each exactly as often printable as predicted
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    probabilities = np.array([0.25] * 4 + [0.75] * 4)
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.0)


def test_accuracy_by_group_and_by_bin():
    labels = np.array([0, 0, 1, 1, 0])
    predicted = np.array([0, 1, 1, 1, 1])
    groups = ["small_hole", "small_hole", "no_defect", "printable_hole", "thin_wall"]
    table = accuracy_by_group(groups, labels, predicted)
    assert table["small_hole"] == {"count": 2, "accuracy": 0.5, "errors": 1}
    assert table["thin_wall"]["errors"] == 1 and table["no_defect"]["accuracy"] == 1.0
    radius = np.array([2.0, 2.5, np.nan, 6.5, 6.2])
    rows = accuracy_by_bin(radius, labels, predicted, [0, 3, 6, 9])
    assert [r["count"] for r in rows] == [2, 0, 2]  # the NaN (no hole) is left out
    assert rows[0]["accuracy"] == 0.5 and rows[2]["accuracy"] == 0.5
    assert np.isnan(rows[1]["accuracy"])


def test_failures_name_the_misclassified_samples_most_confident_first():
    records = [
        {"sample_id": f"s{i}", "label": label, "defect": "d"}
        for i, label in enumerate([1, 0, 1, 0, 1])
    ]
    probabilities = np.array([0.9, 0.6, 0.2, 0.99, 0.45])  # s1, s2, s3, s4 are wrong
    rows = failures(Predictions("m", records, probabilities))
    assert [r["sample_id"] for r in rows] == ["s3", "s2", "s1", "s4"]
    assert rows[0]["probability"] == pytest.approx(0.99) and rows[0]["label"] == 0


def _captured_figures(monkeypatch) -> list:
    """Make the plots hand their figures to a list instead of writing PNGs."""
    from printability.evaluate import plots

    figures: list = []

    def keep(fig, out_png):
        FigureCanvasAgg(fig)
        fig.canvas.draw()
        figures.append(fig)
        return Path(out_png)

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


def test_reliability_series_breaks_at_empty_bins_and_counts_every_bin():
    probabilities = np.array([0.02, 0.05, 0.15, 0.42, 0.45, 0.47, 0.97, 1.0])
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    series = plots.reliability_series(labels, probabilities, bins=10)
    empty = [2, 3, 5, 6, 7, 8]
    assert np.isnan(series["x"][empty]).all() and np.isnan(series["y"][empty]).all()
    assert (
        series["count"].tolist() == np.histogram(probabilities, np.linspace(0, 1, 11))[0].tolist()
    )
    assert series["x"][4] == pytest.approx(0.44666, abs=1e-4)
    assert series["y"][4] == pytest.approx(2 / 3) and series["y"][9] == 1.0


def test_reliability_plot_gaps_empty_bins_labels_counts_and_keeps_markers_whole(monkeypatch):
    figures = _captured_figures(monkeypatch)
    labels, probabilities = np.array([0, 0, 1, 1, 1]), np.array([0.0, 0.05, 0.62, 0.98, 1.0])
    records = [{"label": int(v)} for v in labels]
    plots.plot_reliability([Predictions("m", records, probabilities)], "unused.png")
    curve, bars = figures[0].axes[:2]
    y = curve.lines[0].get_ydata()
    assert np.isnan(y[1:6]).all() and np.isnan(y[7:9]).all()  # no line across empty bins
    assert [int(t.get_text()) for t in bars.texts] == [2, 1, 2]  # n of each non-empty bin
    low, high = curve.get_ylim()
    assert low < 0 and high > 1  # markers at fractions 0 and 1 are not cut in half
    assert "fraction really printable" in curve.get_title(
        loc="left"
    )  # what a point means, on the plot


def test_accuracy_by_measure_plot_breaks_the_line_over_empty_bins(monkeypatch):
    figures = _captured_figures(monkeypatch)
    radius = np.array([2.2, 2.7, 6.1, 6.8, 7.2, np.nan])
    labels, predicted = np.array([0, 0, 1, 1, 1, 1]), np.array([0, 1, 1, 1, 0, 1])
    rows = accuracy_by_bin(radius, labels, predicted, list(range(9)))
    series = plots.measure_series(rows)
    assert np.isnan(series["y"][3:6]).all() and series["count"].tolist() == [0, 0, 2, 0, 0, 0, 2, 1]
    table = {"m": {"hole_radius_vox": rows, "wall_vox": rows}}
    thresholds = {"r_np": 3.0, "r_p": 6.0, "b_np": 2.0, "b_p": 4.0}
    plots.plot_by_measure(table, "unused.png", thresholds)
    curve, counts = figures[0].axes[:2]
    assert np.isnan(curve.lines[0].get_ydata()[3:6]).all()
    assert [int(t.get_text()) for t in counts.texts] == [2, 2, 1]
    tops = [child for ax in figures[0].axes for child in ax.child_axes]
    names = [t.get_text() for top in tops for t in top.get_xticklabels()]
    assert "r_np 3" in names and "r_p 6" in names and "b_p 4" in names  # on a top axis


def test_no_legend_covers_the_data_of_any_plot(monkeypatch):
    figures = _captured_figures(monkeypatch)
    labels, probabilities = fixed_predictions(60)
    records = [{"label": int(v), "defect": "d", "hole_radius_vox": 4.0} for v in labels]
    results = [Predictions(name, records, probabilities) for name in ("model a", "model b")]
    rows = accuracy_by_bin(np.full(60, 4.0), labels, probabilities >= 0.5, [0, 2, 4, 6])
    plots.plot_roc(results, "a.png")
    plots.plot_precision_recall(results, "b.png")
    plots.plot_reliability(results, "c.png")
    per_defect = {"d": {"count": 60, "accuracy": 0.8, "errors": 12}}
    plots.plot_per_defect({"model a": per_defect, "model b": per_defect}, "d.png")
    by_measure = {"hole_radius_vox": rows, "wall_vox": rows}
    plots.plot_by_measure({"model a": by_measure, "model b": by_measure}, "e.png")
    for fig in figures:
        renderer = fig.canvas.get_renderer()
        assert fig.legends, "every overlay plot names its models"
        legend = fig.legends[0].get_window_extent(renderer)
        figure_box = fig.bbox
        assert figure_box.x0 <= legend.x0 and legend.y0 >= figure_box.y0  # not cut off
        for ax in fig.axes:
            assert not legend.overlaps(ax.get_window_extent(renderer))


def test_gallery_hands_a_thin_walls_stored_mask_and_the_thresholds_to_the_render(
    monkeypatch, tmp_path
):
    import printability.render as render
    from printability.evaluate.evaluation import draw_gallery

    class Data:
        records = [
            {"sample_id": "t", "defect": "thin_wall", "label": 0},
            {"sample_id": "s", "defect": "small_hole", "label": 0},
        ]
        info = {"thresholds": {"name": "x", "r_p": 6.0, "r_np": 3.0, "b_p": 4.0, "b_np": 2.0}}
        mask = np.zeros((4, 4, 4), bool)

        def __getitem__(self, i):
            return np.ones((4, 4, 4), bool), dict(self.records[i])

        def defect_mask(self, i):
            return self.mask

    calls = {}
    monkeypatch.setattr(
        render, "render_sample", lambda v, r, out, **kw: calls.setdefault(r["sample_id"], kw)
    )
    result = Predictions("m", Data.records, np.array([0.9, 0.8]))
    draw_gallery(Data(), result, tmp_path, 2)
    assert calls["t"]["thin_wall"] is Data.mask and calls["s"]["thin_wall"] is None
    assert calls["t"]["thresholds"] == Data.info["thresholds"]


@pytest.fixture(scope="module")
def checkpoint(train_data, tmp_path_factory) -> Path:
    from printability.train.loop import train

    out = tmp_path_factory.mktemp("eval") / "run"
    config = TrainConfig(
        epochs=1, batch_size=8, precision="fp32", num_workers=0, width=0.5, max_train_samples=32
    )
    train(train_data, out, config=config, track=False, progress=False)
    return out / "best.pt"


def test_test_time_augmentation_averages_the_logits_of_each_view(
    checkpoint, train_data, monkeypatch
):
    from printability.data.torch_dataset import VoxelTorchDataset
    from printability.evaluate import predict
    from printability.train.checkpoint import checkpoint_input, load_checkpoint

    monkeypatch.setattr(predict, "native_bf16", lambda device: False)  # fp32: exact sums
    payload = load_checkpoint(checkpoint)
    model = predict.model_from_checkpoint(payload).eval()
    name = checkpoint_input(payload)
    views = []
    for k in range(3):
        view = VoxelTorchDataset(train_data, "test", input_name=name, symmetry=k)
        with torch.no_grad():
            views.append(model(torch.stack([x for x, _ in view])).numpy())
    assert not np.allclose(views[0], views[2], atol=1e-3)  # the views are different inputs
    tta = predict.predict_checkpoint(checkpoint, train_data, split="test", tta=3, progress=False)
    expected = 1 / (1 + np.exp(-np.mean(views, axis=0)))
    np.testing.assert_allclose(tta.probabilities, expected, atol=1e-4)


def test_evaluate_writes_metrics_predictions_and_a_report_with_every_plot(
    checkpoint, train_data, tmp_path
):
    out = tmp_path / "report"
    metrics = evaluate(
        [checkpoint, checkpoint], train_data, out, gallery=2, track=False, progress=False
    )
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix"):
        assert key in saved
    assert set(saved["per_defect"]) == {"no_defect", "printable_hole", "small_hole", "thin_wall"}
    names = list(saved["models"])
    assert len(names) == 3 and names[0] != names[1] and "rules" in names[2]  # + the baseline
    # predictions.csv: one row per test sample, in the dataset's order
    from printability.data import open_dataset

    test_ids = [r["sample_id"] for r in open_dataset(train_data).records if r["split"] == "test"]
    with open(out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["sample_id"] for r in rows] == test_ids
    assert sum(1 for r in rows if (float(r["probability"]) >= 0.5) == (r["label"] == "1")) == (
        round(metrics["accuracy"] * len(rows))
    )
    html = (out / "report.html").read_text()
    pngs = sorted(out.glob("*.png")) + sorted((out / "gallery").glob("*.png"))
    assert len(pngs) >= 6
    for png in pngs:  # every plot is embedded, so the page opens offline
        assert base64.b64encode(png.read_bytes()).decode() in html
    assert "http://" not in html and "https://" not in html
    tables = html.count("<table")  # each inside a box that scrolls itself on a narrow screen
    assert tables == 3 and html.count("<div class='wide'><table") == tables
    (_, fp), (fn, _) = metrics["confusion_matrix"]
    shown = len(list((out / "gallery").glob("*.png")))
    assert f"Failure gallery (showing {shown} of {fp + fn})" in html
    assert saved["models"][names[0]]["trained_on_this_data"] is True  # trained on train_data
    assert saved["models"][names[2]]["checkpoint"] is None and saved["pitch_mm_range"]


def test_evaluate_command_bad_paths_exit_2(checkpoint, train_data, tmp_path, capsys):
    from printability.cli import main

    code = main(
        ["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--data", str(train_data),
         "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2 and "none.pt" in capsys.readouterr().err
    code = main(
        ["evaluate", "--checkpoint", str(checkpoint), "--data", str(tmp_path / "nodata"),
         "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2 and "nodata" in capsys.readouterr().err


def test_evaluation_is_logged_to_the_training_run(train_data, tmp_path, monkeypatch):
    import mlflow

    from printability.train.loop import train

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # mlartifacts/ goes here
    config = TrainConfig(
        epochs=1, batch_size=8, precision="fp32", num_workers=0, width=0.5, max_train_samples=16
    )
    train(train_data, tmp_path / "run", config=config, track=True, progress=False)
    metrics = evaluate(
        [tmp_path / "run" / "best.pt"], train_data, tmp_path / "report", baseline=False,
        gallery=0, track=True, progress=False,
    )  # fmt: skip
    mlflow.set_tracking_uri(uri)
    (run,) = mlflow.search_runs(experiment_names=["printability"], output_format="list")
    assert run.data.metrics["eval_test_accuracy"] == pytest.approx(metrics["accuracy"])
    client = mlflow.MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "eval_test")}
    assert {"eval_test/report.html", "eval_test/metrics.json"} <= artifacts
    # the training run's own metrics.json is not overwritten by the evaluation's
    logged = client.download_artifacts(run.info.run_id, "metrics.json", str(tmp_path / "dl"))
    assert Path(logged).read_text() == (tmp_path / "run" / "metrics.json").read_text()
    # a run that ended otherwise keeps its status: evaluation does not reopen and close it
    client.set_terminated(run.info.run_id, status="KILLED")
    evaluate(
        [tmp_path / "run" / "best.pt"], train_data, tmp_path / "report2", baseline=False,
        gallery=0, track=True, progress=False,
    )  # fmt: skip
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_evaluate_refuses_a_negative_gallery(checkpoint, train_data, tmp_path, capsys):
    from printability.cli import main

    code = main(
        ["evaluate", "--checkpoint", str(checkpoint), "--data", str(train_data),
         "--out", str(tmp_path / "r"), "--gallery", "-1", "--no-progress", "--no-mlflow"]
    )  # fmt: skip
    assert code == 2 and "--gallery" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_checkpoint_names_and_prediction_columns_are_unique(checkpoint, tmp_path, monkeypatch):
    from printability.evaluate.evaluation import checkpoint_name, write_predictions

    monkeypatch.chdir(checkpoint.parent)  # a bare relative path still names its run folder
    taken: set[str] = set()
    first = checkpoint_name(Path("best.pt"), taken)
    second = checkpoint_name(checkpoint, taken)
    assert first == f"distnet ({checkpoint.parent.name})" and second == first + " #2"
    records = [{"sample_id": "s0", "label": 1}]
    results = [Predictions(name, records, np.array([0.7])) for name in ("a b", "a_b")]
    write_predictions(results, tmp_path / "p.csv")
    header = (tmp_path / "p.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["p_a_b", "p_a_b_2"]
