"""Horovod as the training engine.

Everywhere: `--dist` picks the backend; `--dist horovod` without horovod is a one-line error
(exit 2); and the loop runs its Horovod path against a stand-in for `horovod.torch` (one
process, identity collectives) that records what the loop asks of Horovod. Where horovod.torch
really imports: a two-process `horovodrun` job ends with identical weights on both ranks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from printability.cli import main
from printability.config import TrainConfig
from printability.train import distributed
from printability.train.horovod_backend import HorovodContext
from printability.train.loop import train

TINY = dict(
    epochs=2,
    batch_size=8,
    lr=3e-3,
    precision="fp32",
    num_workers=0,
    width=0.5,
    warmup_epochs=0.2,
    max_train_samples=48,
    channels_last=False,  # Horovod keeps weights in the default layout: compare like with like
)


class FakeHorovod:
    """`horovod.torch` for a job of `size` identical ranks seen from rank `rank`.

    Collectives return what a job of identical ranks would: Sum multiplies by `size`, Max and
    broadcasts change nothing. Like Horovod's, they refuse tensors that are not contiguous.
    Every call is recorded in order.
    """

    Sum, Max = "Sum", "Max"

    def __init__(self, size: int = 1, rank: int = 0) -> None:
        self._size, self._rank = size, rank
        self.calls: list[tuple] = []
        self.steps = 0
        self.wrapped = None

    def init(self) -> None:
        self.calls.append(("init",))

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def local_rank(self) -> int:
        return self._rank

    def local_size(self) -> int:
        return self._size

    def allreduce(self, tensor: torch.Tensor, op=None, name=None) -> torch.Tensor:
        _contiguous([tensor])
        self.calls.append(("allreduce", op))
        return tensor * self._size if op == self.Sum else tensor.clone()

    def broadcast_parameters(self, params, root_rank: int) -> None:
        _contiguous(dict(params).values())
        self.calls.append(("broadcast_parameters", root_rank, tuple(dict(params))))

    def broadcast_optimizer_state(self, optimizer, root_rank: int) -> None:
        _contiguous(v for state in optimizer.state.values() for v in state.values())
        self.calls.append(("broadcast_optimizer_state", root_rank, optimizer, len(optimizer.state)))

    def DistributedOptimizer(self, optimizer, named_parameters=None):  # noqa: N802 (Horovod's name)
        """Like Horovod's: a new optimizer of a subclass over the same groups, counting steps."""
        fake = self
        self.wrapped_names = [name for name, _ in named_parameters]

        class Distributed(optimizer.__class__):
            def step(self, closure=None):
                _contiguous(p.grad for group in self.param_groups for p in group["params"])
                fake.steps += 1
                return super().step(closure)

            def zero_grad(self):  # Horovod's takes no arguments
                return super().zero_grad()

        self.wrapped = Distributed(optimizer.param_groups)
        return self.wrapped

    def barrier(self) -> None:
        self.calls.append(("barrier",))

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))


def _contiguous(tensors) -> None:
    """Horovod's collectives work in place on contiguous tensors only."""
    for tensor in tensors:
        if torch.is_tensor(tensor) and not tensor.is_contiguous():
            raise RuntimeError("Tensor is required to be contiguous.")


@pytest.fixture
def no_launcher_env(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "HOROVOD_RANK"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_auto_is_one_process_without_a_launcher(no_launcher_env):
    ctx = distributed.setup("auto")
    assert (ctx.backend, ctx.rank, ctx.world_size, ctx.distributed) == ("single", 0, 1, False)
    assert ctx.all_reduce_sum([1.0, 2.0]) == [1.0, 2.0]
    assert ctx.same_on_all_ranks(3.5)


def test_auto_under_torchrun_uses_torch(no_launcher_env):
    no_launcher_env.setenv("WORLD_SIZE", "1")  # torchrun with one process: no process group
    no_launcher_env.setenv("LOCAL_WORLD_SIZE", "1")
    for choice in ("auto", "torch"):
        ctx = distributed.setup(choice)
        assert ctx.backend == "torch" and not ctx.distributed
        model = torch.nn.Linear(2, 1)
        assert ctx.wrap_model(model) is model


@pytest.mark.parametrize(
    "choice, env, message",
    [
        ("torch", {}, "needs torchrun"),
        ("auto", {"HOROVOD_RANK": "0"}, "add --dist horovod"),
        ("mpi", {}, "unknown --dist"),
    ],
)
def test_backend_choice_errors(no_launcher_env, choice, env, message):
    for name, value in env.items():
        no_launcher_env.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        distributed.setup(choice)


def test_dist_horovod_without_horovod_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "horovod.torch", None)  # as if it were not installed
    argv = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--dist", "horovod"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("printability: error: --dist horovod")
    assert "docs/horovod.md" in err
    assert not (tmp_path / "run").exists()


def test_horovod_setup_takes_rank_and_size_from_hvd(monkeypatch):
    fake = FakeHorovod(size=4, rank=3)
    monkeypatch.setitem(sys.modules, "horovod.torch", fake)
    ctx = distributed.setup("horovod")
    assert isinstance(ctx, HorovodContext) and fake.calls == [("init",)]
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.local_world_size) == (3, 4, 3, 4)
    assert not ctx.is_main and ctx.distributed
    assert ctx.all_reduce_sum([1.0, 2.5]) == [4.0, 10.0]
    assert ctx.same_on_all_ranks(2.0)
    model = torch.nn.Linear(2, 1)
    assert ctx.wrap_model(model) is model  # Horovod works through the optimizer
    ctx.close()
    assert fake.calls[-1] == ("shutdown",)


@pytest.fixture(scope="module")
def plain_run(train_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "r"
    return out, train(train_data, out, config=TrainConfig(**TINY), track=False, progress=False)


@pytest.fixture(scope="module")
def fake_run(train_data, tmp_path_factory):
    fake = FakeHorovod()
    out = tmp_path_factory.mktemp("fake_hvd") / "r"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "horovod.torch", fake)
        metrics = train(
            train_data, out, config=TrainConfig(**TINY), track=False, progress=False, dist="horovod"
        )
    return out, metrics, fake


def test_loop_under_horovod_wraps_the_optimizer_and_broadcasts_from_rank_0(fake_run):
    out, metrics, fake = fake_run
    assert metrics["dist"] == "horovod" and metrics["world_size"] == 1
    assert metrics["ranks_in_sync"] is True
    kinds = [call[0] for call in fake.calls]
    assert kinds[0] == "init" and kinds[-1] == "shutdown"
    # The optimizer is wrapped over every parameter, and the wrapped one is the one stepped.
    n_params = sum(len(group["params"]) for group in fake.wrapped.param_groups)
    assert len(fake.wrapped_names) == n_params > 0
    batches = len(json.loads((out / "history.json").read_text())) * (48 // 8)
    assert fake.steps == batches
    # Rank 0's weights (the whole state dict) and optimizer state go out before any training.
    first_bcast = kinds.index("broadcast_parameters")
    assert first_bcast < kinds.index("allreduce")
    _, root, keys = fake.calls[first_bcast]
    assert root == 0 and any(k.endswith("weight") for k in keys)
    bcast_opt = fake.calls[kinds.index("broadcast_optimizer_state")]
    assert bcast_opt[1] == 0 and bcast_opt[2] is fake.wrapped
    # Metric sums: train and validation per epoch, then test; one Max for the sync check.
    ops = [call[1] for call in fake.calls if call[0] == "allreduce"]
    assert ops.count("Sum") == 2 * metrics["epochs_run"] + 1 and ops.count("Max") == 1


def test_loop_under_horovod_trains_like_one_process(fake_run, plain_run):
    """With identity collectives the Horovod path must change nothing in the arithmetic (both
    runs keep the default memory layout, so the weights agree to float rounding)."""
    (fake_out, fake_metrics, _), (plain_out, plain_metrics) = fake_run, plain_run
    ours_test, theirs_test = fake_metrics["test"], plain_metrics["test"]
    assert ours_test["confusion_matrix"] == theirs_test["confusion_matrix"]
    assert ours_test["loss"] == pytest.approx(theirs_test["loss"], abs=1e-5)
    ours = torch.load(fake_out / "last.pt", weights_only=True)["state_dict"]
    theirs = torch.load(plain_out / "last.pt", weights_only=True)["state_dict"]
    assert ours.keys() == theirs.keys()
    assert all(torch.allclose(ours[k].float(), theirs[k].float(), atol=1e-5) for k in ours)


def test_resume_under_horovod_broadcasts_the_loaded_state(fake_run, train_data, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(fake_run[0], out)
    fake = FakeHorovod()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "horovod.torch", fake)
        train(train_data, out, config=TrainConfig(**TINY), resume=True, track=False,
              progress=False, dist="horovod")  # fmt: skip
    (call,) = [c for c in fake.calls if c[0] == "broadcast_optimizer_state"]
    assert call[3] > 0  # the state read from last.pt, not a fresh optimizer's


def test_two_process_horovodrun_keeps_ranks_identical(train_data, tmp_path):
    pytest.importorskip("horovod.torch")
    out = tmp_path / "hvd"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
    }
    cmd = [sys.executable, "-m", "horovod.runner.launch", "-np", "2", "-H", "localhost:2",
           sys.executable, "-m", "printability", "train", "--dist", "horovod",
           "--data", str(train_data), "--out", str(out), "--epochs", "2", "--batch-size", "8",
           "--width", "0.5", "--precision", "fp32", "--workers", "0", "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dist"] == "horovod" and metrics["world_size"] == 2
    assert metrics["ranks_in_sync"] is True
    assert "horovod rank 0/2" in result.stdout
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["printability"])
    assert len(runs) == 1  # rank 0 alone tracks
