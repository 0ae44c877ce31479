"""Optuna tuning on the tiny dataset: a study grows over calls and across processes, pruning
stops trials, the best config trains, plots are written, and trials nest in MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from printability.cli import main
from printability.config import TrainConfig, TuneConfig
from printability.train.loop import StopTraining, train
from printability.tune import PrunedTrial, open_study, pruning_callback, tune, write_plots

BASE = TrainConfig(num_workers=0, precision="fp32", warmup_epochs=0.2)
QUICK = dict(epochs=1, models=("fastnet",), max_train_samples=16)


@pytest.fixture(scope="module")
def study(train_data, tmp_path_factory):
    """3 trials, then a second call that adds 2: the summaries of both calls and the paths."""
    root = tmp_path_factory.mktemp("tune")
    storage = f"sqlite:///{root / 'optuna.db'}"
    first = tune(
        train_data,
        root / "out",
        settings=TuneConfig(trials=3, storage=storage, study_name="s", seed=0, **QUICK),
        base=BASE,
        track=False,
    )
    second = tune(
        train_data,
        root / "out",
        settings=TuneConfig(trials=2, storage=storage, study_name="s", seed=1, **QUICK),
        base=BASE,
        track=False,
    )
    return first, second, storage, root / "out"


def test_a_second_call_adds_trials_to_the_study(study):
    first, second, storage, _ = study
    assert first["trials"]["total"] == 3 and second["trials"]["total"] == 5
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert trials[0].params["lr"] == BASE.lr  # the first trial is the defaults, enqueued
    assert {t.state for t in trials} <= {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
    }
    assert second["best"]["value"] == max(t.value for t in trials if t.value is not None)


def test_best_config_loads_and_trains(study, train_data, tmp_path):
    _, second, _, out = study
    path = out / "best_config.json"
    config = TrainConfig.from_dict(json.loads(path.read_text()))
    assert config.max_train_samples is None and config.num_workers == 0  # base fields kept
    assert config.lr == second["best"]["params"]["lr"]
    argv = ["train", "--data", str(train_data), "--out", str(tmp_path / "run"), "--config",
            str(path), "--epochs", "1", "--max-train-samples", "16", "--no-mlflow",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert (tmp_path / "run" / "metrics.json").exists()


def test_plots_and_summary_are_written(study, tmp_path):
    out = study[3]
    for name in ("optimization_history", "intermediate_values", "param_importances"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text())["trials"]["total"] == 5
    assert (out / "trial-0000" / "best.pt").exists()
    assert not (out / "trial-0000" / "last.pt").exists()  # only --resume needs it

    one = optuna.create_study(direction="maximize")  # importances need two completed trials
    lr = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    one.add_trial(optuna.create_trial(params={"lr": 1e-3}, distributions={"lr": lr}, value=0.5))
    files = write_plots(one, tmp_path)
    assert "param_importances" not in files and Path(files["optimization_history"]).exists()
    assert write_plots(optuna.create_study(), tmp_path) == {}  # nothing to draw yet


def test_the_callback_prunes_a_trial_below_the_median(tmp_path):
    study = open_study(f"sqlite:///{tmp_path / 'p.db'}", "p", seed=0)  # MedianPruner, 2 startup
    for value in (0.8, 0.9):
        trial = study.ask()
        trial.report(value, 1)
        study.tell(trial, value)
    good, bad = study.ask(), study.ask()
    pruning_callback(good)(1, {"val_f1": 0.95})  # above the median: goes on
    with pytest.raises(optuna.TrialPruned) as pruned:
        pruning_callback(bad)(1, {"val_f1": 0.1})
    assert isinstance(pruned.value, StopTraining)  # what ends train() on purpose


def test_two_processes_share_one_study(train_data, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    (tmp_path / "base.json").write_text(json.dumps(BASE.to_dict()))
    cmd = [sys.executable, "-m", "printability", "tune", "--data", str(train_data), "--trials",
           "2", "--storage", storage, "--study", "shared", "--epochs", "1", "--max-train-samples",
           "16", "--config", "base.json", "--out", "out", "--no-mlflow"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(rc == 0 for rc, _ in results), [err[-2000:] for _, err in results]
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state.is_finished() for t in trials)
    assert sorted(p.name for p in (tmp_path / "out").glob("trial-*")) == [
        f"trial-000{i}" for i in range(4)
    ]
    assert not (tmp_path / "mlflow.db").exists()  # --no-mlflow


def test_trials_are_mlflow_runs_nested_under_the_study(train_data, tmp_path, monkeypatch):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # mlartifacts/ goes here
    mlflow.set_tracking_uri(uri)
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    settings = TuneConfig(trials=1, storage=storage, study_name="nest", **QUICK)
    tune(train_data, "out", settings=settings, base=BASE)

    def stop(epoch, row):
        raise PrunedTrial(f"epoch {epoch}")

    with pytest.raises(optuna.TrialPruned):
        train(train_data, "pruned", config=BASE, track=True, progress=False, on_epoch=stop)
    runs = mlflow.search_runs(experiment_names=["printability"])
    parent = runs[runs["tags.mlflow.runName"] == "nest"]
    assert len(parent) == 1 and parent["status"].iloc[0] == "FINISHED"
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"].iloc[0]]
    assert list(children["tags.mlflow.runName"]) == ["trial-0000"]
    assert list(children["tags.optuna.trial"]) == ["0"]
    pruned = runs[runs["tags.mlflow.runName"] == "pruned"]
    assert pruned["status"].iloc[0] == "KILLED"
    assert not (tmp_path / "pruned" / "metrics.json").exists()  # stopped after epoch 1


def test_bad_input_is_one_line_and_exit_2(train_data, tmp_path, capsys, study):
    storage = study[2]
    base = ["tune", "--trials", "1", "--no-mlflow", "--out", str(tmp_path)]
    assert main([*base, "--data", str(tmp_path / "nothing")]) == 2
    assert main([*base, "--data", str(train_data), "--models", "fastnet,nonet"]) == 2
    changed = ["--storage", storage, "--study", "s", "--models", "fastnet,resnet_small"]
    assert main([*base, "--data", str(train_data), *changed]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("printability: error:") for line in err)
    assert "not a dataset" in err[0] and "nonet" in err[1] and "new --study" in err[2]


def test_the_study_networks_are_tuned_on_the_default_input_or_the_one_given(train_data, tmp_path):
    from printability.train.checkpoint import checkpoint_input, load_checkpoint

    fixed = tmp_path / "base.json"
    fixed.write_text(json.dumps({"num_workers": 0, "precision": "fp32", "warmup_epochs": 0.2}))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    common = ["tune", "--data", str(train_data), "--epochs", "1", "--max-train-samples", "16",
              "--config", str(fixed), "--storage", storage, "--no-mlflow",
              "--seed", "0"]  # fmt: skip
    seed_four = ["vanilla3dcnn", "resnet_small", "inception_v1", "inception_v3"]
    out = tmp_path / "four"
    assert main([*common, "--study", "four", "--trials", "2", "--out", str(out),
                 "--models", *seed_four[:2], ",".join(seed_four[2:])]) == 0  # fmt: skip
    study = optuna.load_study(study_name="four", storage=storage)
    assert study.user_attrs["models"] == seed_four  # space- and comma-separated both count
    for trial_dir in sorted(out.glob("trial-*")):
        payload = load_checkpoint(trial_dir / "best.pt")
        assert payload["model"] in seed_four
        assert checkpoint_input(payload) == "distance_quarter"
    out = tmp_path / "occupancy"
    assert main([*common, "--study", "occ", "--trials", "1", "--out", str(out),
                 "--models", "vanilla3dcnn", "--input", "occupancy"]) == 0  # fmt: skip
    payload = load_checkpoint(out / "trial-0000" / "best.pt")
    assert checkpoint_input(payload) == "occupancy" and payload["model_kwargs"]["in_channels"] == 1


def test_a_network_stuck_on_one_class_scores_zero_and_early_epochs_are_not_pruned(tmp_path):
    from printability.tune import learned_f1

    assert learned_f1(0.667, learned=False) == 0.0  # "printable" for all: F1 0.667 on balance
    assert learned_f1(0.6, learned=True) == 0.6
    study = open_study(f"sqlite:///{tmp_path / 'w.db'}", "w", seed=0, warmup_epochs=2)
    for value in (0.8, 0.9):
        trial = study.ask()
        for epoch in (1, 2, 3):
            trial.report(value, epoch)
        study.tell(trial, value)
    slow = study.ask()
    on_epoch = pruning_callback(slow)
    for epoch in (1, 2):  # at chance in its first epochs, as the study's large networks are
        on_epoch(epoch, {"val_f1": 0.667, "val_learned": False})
    with pytest.raises(optuna.TrialPruned, match="val F1 0.0000 at epoch 3"):
        on_epoch(3, {"val_f1": 0.667, "val_learned": False})
