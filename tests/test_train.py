"""Training end to end on a tiny dataset: loss goes down, checkpoints load safely, resume,
and a two-process torchrun job on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from printability.config import TrainConfig
from printability.data.inputs import model_input
from printability.models import create_model
from printability.train.checkpoint import load_checkpoint, model_from_checkpoint
from printability.train.loop import _is_better, _keeps_final, train

QUICK = dict(
    epochs=3, batch_size=8, lr=3e-3, precision="fp32", num_workers=0, width=0.5, warmup_epochs=0.2
)


@pytest.fixture(scope="module")
def data(train_data) -> Path:
    return train_data  # conftest.py: shared with the Horovod tests


@pytest.fixture(scope="module")
def run(data, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run") / "r"
    metrics = train(data, out, config=TrainConfig(**QUICK), track=False, progress=False)
    return out, metrics


def test_training_lowers_the_loss_and_writes_metrics(run):
    out, metrics = run
    history = json.loads((out / "history.json").read_text())
    assert len(history) == 3
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "f1", "confusion_matrix"):
        assert key in saved["test"]
    assert (
        saved["val"]["accuracy"] >= 0
        and saved["train_seconds"] > 0
        and saved["samples_per_second"] > 0
    )
    (tn, fp), (fn, tp) = saved["test"]["confusion_matrix"]
    assert saved["test"]["accuracy"] == pytest.approx((tn + tp) / (tn + fp + fn + tp))
    one_class = {(True, False): "not printable", (False, True): "printable"}
    said = (tn + fn > 0, fp + tp > 0)  # which answers the model gave on the test split
    assert saved["test"]["predicts_one_class"] == one_class.get(said)
    assert (out / "learning_curves.png").stat().st_size > 0


def test_best_epoch_is_one_that_learned_before_a_higher_f1_stuck_on_one_class():
    stuck = {"f1": 0.667, "predicts_one_class": "printable"}
    learning = {"f1": 0.6, "predicts_one_class": None}
    assert _is_better(stuck, best_learned=False, best_f1=-1.0)  # the first epoch is the best
    assert _is_better(learning, best_learned=False, best_f1=0.667)
    assert not _is_better(stuck, best_learned=True, best_f1=0.6)
    assert _is_better({"f1": 0.7, "predicts_one_class": None}, best_learned=True, best_f1=0.6)
    assert not _is_better({"f1": 0.6, "predicts_one_class": None}, best_learned=True, best_f1=0.6)


def test_a_finished_schedule_keeps_its_final_weights_unless_asked_for_the_best_f1():
    learned = {"f1": 0.9, "predicts_one_class": None}
    stuck = {"f1": 0.667, "predicts_one_class": "printable"}
    final = TrainConfig(epochs=5)
    assert final.select == "final"
    assert _keeps_final(final, 5, learned)
    assert not _keeps_final(final, 4, learned)  # an early stop keeps the best F1
    assert not _keeps_final(final, 5, stuck)  # a collapsed final model is not kept
    assert not _keeps_final(TrainConfig(epochs=5, select="val_f1"), 5, learned)
    with pytest.raises(ValueError, match="select"):
        TrainConfig(select="best")


def test_checkpoint_round_trip_with_weights_only(run, data):
    out, _ = run
    payload = torch.load(out / "best.pt", weights_only=True)  # must not need pickle
    assert payload["model"] == "distnet" and payload["train_config"]["width"] == 0.5
    assert payload["train_config"]["input"] == "distance_quarter"
    assert payload["data"]["resolution"] == 40
    assert payload["data"]["generate_config"]["voxel"]["resolution"] == 40
    model = model_from_checkpoint(load_checkpoint(out / "best.pt"))
    grid = np.zeros((40, 40, 40), bool)
    grid[10:30, 10:30, 10:30] = True
    x = torch.from_numpy(np.stack([model_input(grid, "distance_quarter")] * 2))
    with torch.no_grad():
        assert model(x).shape == (2,)


class Unsafe:
    """Any class: unpickling it could run code, so weights_only must refuse it."""


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "printability-checkpoint-1", "x": Unsafe()}, path)
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_resume_after_a_stop_ends_like_an_uninterrupted_run(data, run, tmp_path):
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):  # stop after the first epoch, as a kill would
        _train_until(data, out, stop_after_epochs=1)
    assert load_checkpoint(out / "last.pt")["loop_state"]["epoch"] == 1
    metrics = train(
        data, out, config=TrainConfig(**QUICK), resume=True, track=False, progress=False
    )
    assert metrics["epochs_run"] == 3
    full, _ = run
    resumed = load_checkpoint(out / "last.pt")["state_dict"]
    uninterrupted = load_checkpoint(full / "last.pt")["state_dict"]
    assert all(
        torch.allclose(resumed[k].float(), uninterrupted[k].float(), atol=1e-5) for k in resumed
    )


def _train_until(data: Path, out: Path, stop_after_epochs: int) -> None:
    """Run train() and interrupt it when last.pt reports `stop_after_epochs` epochs."""
    import printability.train.loop as loop

    original = loop.save_checkpoint

    def save_then_maybe_stop(path, *args, **kwargs):
        original(path, *args, **kwargs)
        if path.name == "last.pt" and kwargs["loop_state"]["epoch"] >= stop_after_epochs:
            raise KeyboardInterrupt

    loop.save_checkpoint = save_then_maybe_stop
    try:
        train(data, out, config=TrainConfig(**QUICK), track=False, progress=False)
    finally:
        loop.save_checkpoint = original


def test_two_process_torchrun_keeps_ranks_identical_and_logs_one_run(data, tmp_path):
    out = tmp_path / "ddp"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "printability", "train", "--data", str(data), "--out", str(out), "--epochs", "2",
           "--batch-size", "8", "--width", "0.5", "--precision", "fp32", "--workers", "0",
           "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, _failure_lines(result.stderr)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["ranks_in_sync"] is True
    assert metrics["dist"] == "torch" and "torch rank 0/2" in result.stdout  # auto chose torch
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["printability"])
    assert len(runs) == 1
    assert "metrics.val_f1" in runs.columns and runs["metrics.val_f1"].notna().all()


def _failure_lines(stderr: str) -> str:
    """The lines of a failed torchrun that say why (a rank's C++ abort comes before the
    launcher's long report), then the end of it."""
    why = [
        line
        for line in stderr.splitlines()
        if any(key in line for key in ("Error", "error:", "terminate", "what()", "Exception"))
    ]
    return "\n".join(why[-20:]) + "\n...\n" + stderr[-1500:]


def test_the_location_loss_is_on_for_models_with_that_head():
    from printability.train.loop import _location_cells, location_loss

    distnet = TrainConfig(model="distnet", input="distance_quarter")
    model = create_model("distnet", width=0.5)
    assert _location_cells(model, distnet, 64) == 8  # one defect logit per 8^3 voxels
    assert _location_cells(model, replace(distnet, location_weight=0.0), 64) is None
    fast = TrainConfig(model="fastnet", input="occupancy")
    assert _location_cells(create_model("fastnet"), fast, 64) is None
    # a missed defect cell costs more than a false alarm, as positives are rare
    missed = location_loss(torch.tensor([[-3.0]]), torch.tensor([[1.0]]))
    alarm = location_loss(torch.tensor([[3.0]]), torch.tensor([[0.0]]))
    assert missed > 10 * alarm


def test_mixed_precision_is_bf16_where_native_and_fp16_only_on_a_gpu():
    from printability.models.inference import native_bf16
    from printability.train.distributed import DistContext
    from printability.train.loop import _autocast_dtype

    cpu = DistContext()
    native = torch.bfloat16 if native_bf16(cpu.device) else None
    assert _autocast_dtype(TrainConfig(precision="auto"), cpu) == native
    assert _autocast_dtype(TrainConfig(precision="fp32"), cpu) is None
    assert _autocast_dtype(TrainConfig(precision="bf16"), cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="fp16 needs a CUDA GPU"):
        _autocast_dtype(TrainConfig(precision="fp16"), cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="fp8")


def test_a_callback_that_raises_stop_training_ends_the_run_after_that_epoch(data, tmp_path):
    from printability.train.loop import StopTraining

    seen = []

    def stop_after_one(epoch, row):
        seen.append((epoch, sorted(row)))
        raise StopTraining("enough")

    out = tmp_path / "stopped"
    with pytest.raises(StopTraining, match="enough"):
        train(data, out, config=TrainConfig(**QUICK), track=False, progress=False,
              on_epoch=stop_after_one)  # fmt: skip
    assert [epoch for epoch, _ in seen] == [1] and "val_f1" in seen[0][1]
    assert load_checkpoint(out / "last.pt")["loop_state"]["epoch"] == 1
    assert not (out / "metrics.json").exists()
