"""The training loop: the same for one process, torchrun or Horovod.

`train` reads top to bottom: `_setup` makes the data, model, optimiser and (with --resume) the
state of the last finished epoch; each epoch trains on this rank's share of the training split
(the 48 cube symmetries as augmentation), validates on the validation split with the sums
all-reduced so every rank sees the same exact metrics, keeps the best checkpoint by
validation F1 and the last one (for --resume), and, with `patience`, stops early when
validation F1 stops improving. A schedule run to its end keeps its final weights as the best
checkpoint (`select="final"`, the default; `_keeps_final`). `_finish` evaluates the best
checkpoint on the test split and writes RUN_DIR/metrics.json.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, Subset
from tqdm import tqdm

from printability.config import TrainConfig
from printability.data.inputs import get_input
from printability.data.store import read_info
from printability.data.torch_dataset import VoxelTorchDataset
from printability.evaluate.metrics import predicts_one_class, scores_from_confusion
from printability.models import count_parameters, create_model, get_model_spec
from printability.models.inference import native_bf16
from printability.train import distributed
from printability.train.checkpoint import (
    config_input,
    load_checkpoint,
    model_kwargs,
    save_checkpoint,
)
from printability.train.distributed import DistContext
from printability.train.tracking import MlflowTracker, NullTracker

EpochCallback = Callable[[int, dict[str, Any]], None]
"""`on_epoch(epoch, row)`: the 1-based epoch and its history row (val_f1, val_learned, ...)."""


class StopTraining(Exception):
    """Raised by an `on_epoch` callback to end the run after that epoch on purpose.

    The epoch's checkpoints are kept, no test metrics are written, the tracked run ends as
    KILLED (any other exception ends it as FAILED), and the exception reaches train's caller.
    Single-process runs only: the callback runs on the main rank, and the other ranks would
    wait for it at the next barrier (`tune` trains one process per trial).
    """


def train(
    data: str | Path,
    out: str | Path,
    *,
    config: TrainConfig,
    resume: bool = False,
    track: bool = True,
    progress: bool = True,
    dist: str = "auto",
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """Train `config.model` on the dataset in `data`, writing checkpoints and metrics to `out`.

    `dist` picks the data-parallel engine: "auto" (torchrun's if its environment is set, else
    one process), "torch" or "horovod" (see printability.train.distributed). `resume`
    continues from OUT/last.pt; `track` logs the run to MLflow. `on_epoch` is called on the
    main rank after each epoch's checkpoints are written; in a single-process run it may raise
    StopTraining.
    Returns the test metrics of the best checkpoint (also OUT/metrics.json).
    """
    ctx = distributed.setup(dist)
    try:
        run = _setup(Path(data), Path(out), config, ctx, resume)
        with _tracking(run, track) as tracker:
            for epoch in range(run.state["epoch"], run.config.epochs):
                row, val = _train_and_validate(run, epoch, progress and ctx.is_main)
                kept = _update_best(run.state, run.config, epoch + 1, val)
                if ctx.is_main:
                    _log_and_save(run, tracker, row, val, kept, on_epoch)
                ctx.barrier()
                if _out_of_patience(run):
                    break
            return _finish(run, tracker)
    finally:
        ctx.close()


@dataclass
class _Splits:
    """The three splits and their loaders; the sampler deals this rank its share of train."""

    train: VoxelTorchDataset
    val: VoxelTorchDataset
    test: VoxelTorchDataset
    sampler: DistributedSampler
    train_loader: DataLoader
    val_loader: DataLoader
    test_loader: DataLoader


@dataclass
class _Run:
    """Everything an epoch needs, made by `_setup`. `model` is the network itself, `net` the
    same wrapped for data-parallel training; `state` is the loop's progress, saved in last.pt."""

    config: TrainConfig
    ctx: DistContext
    out: Path
    data_info: dict[str, Any]
    splits: _Splits
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    amp: torch.dtype | None
    memory_format: torch.memory_format
    loss_fn: nn.Module
    state: dict[str, Any]

    @property
    def best_path(self) -> Path:
        return self.out / "best.pt"

    @property
    def last_path(self) -> Path:
        return self.out / "last.pt"


def _setup(data: Path, out: Path, config: TrainConfig, ctx: DistContext, resume: bool) -> _Run:
    """The data, the model and its optimiser, and the loop state: fresh, or last.pt's with
    `resume`. The order of the steps fixes what the seeded RNG draws for the weights."""
    _share_cpu_threads(ctx)
    torch.manual_seed(config.seed)
    config = replace(config, input=config_input(config))  # checkpoints name what was read
    info = read_info(data)
    data_info = {
        "dataset": str(data),
        "resolution": info["resolution"],
        "generate_config": info["config"],
        "thresholds": info["thresholds"],
    }
    model = create_model(config.model, **model_kwargs(config)).to(ctx.device)
    splits = _splits(data, config, ctx, _location_cells(model, config, info["resolution"]))
    memory_format = torch.channels_last_3d if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    net = ctx.wrap_model(model)
    optimizer = ctx.wrap_optimizer(_optimizer(model, config), model)
    steps_per_epoch = len(splits.train_loader)
    total_steps = config.epochs * max(1, steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(config, steps_per_epoch, total_steps)
    )
    amp = _autocast_dtype(config, ctx)
    run = _Run(
        config=config,
        ctx=ctx,
        out=out,
        data_info=data_info,
        splits=splits,
        model=model,
        net=net,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=torch.amp.GradScaler(ctx.device.type, enabled=amp == torch.float16),
        amp=amp,
        memory_format=memory_format,
        loss_fn=nn.BCEWithLogitsLoss(),
        state=_fresh_state(),
    )
    _resume_or_start(run, resume)
    return run


def _splits(data: Path, config: TrainConfig, ctx: DistContext, cells: int | None) -> _Splits:
    """The train, val and test splits and loaders; train yields defect cells of edge `cells`
    for the location loss (None: off)."""
    train_set = VoxelTorchDataset(
        data, "train", config.augment, config.seed, config.input, mask_size=cells
    )
    if config.max_train_samples:
        train_set.indices = train_set.indices[: config.max_train_samples]
    val_set = VoxelTorchDataset(train_set.data, "val", input_name=config.input)
    test_set = VoxelTorchDataset(train_set.data, "test", input_name=config.input)
    for name, split in (("train", train_set), ("val", val_set), ("test", test_set)):
        if len(split) == 0:
            raise ValueError(f"{data}: the {name} split is empty; generate more samples")
    sampler = DistributedSampler(
        train_set, ctx.world_size, ctx.rank, shuffle=True, seed=config.seed, drop_last=True
    )
    return _Splits(
        train=train_set,
        val=val_set,
        test=test_set,
        sampler=sampler,
        train_loader=_loader(train_set, config, sampler=sampler),
        val_loader=_loader(_shard(val_set, ctx), config),
        test_loader=_loader(_shard(test_set, ctx), config),
    )


def _fresh_state() -> dict[str, Any]:
    """The loop state before the first epoch."""
    return {
        "epoch": 0,
        "best_f1": -1.0,
        "best_epoch": -1,
        "stale": 0,
        "history": [],
        "run_id": None,
        "train_seconds": 0.0,
        "train_samples": 0,
    }


def _resume_or_start(run: _Run, resume: bool) -> None:
    """With `resume` and a last.pt, continue from it (weights, optimiser, schedule, loop state,
    RNG); else make the run folder. Then every rank starts from rank 0's weights."""
    if resume and run.last_path.exists():
        saved = load_checkpoint(run.last_path)
        run.model.load_state_dict(saved["state_dict"])
        run.optimizer.load_state_dict(saved["optimizer"])
        run.scheduler.load_state_dict(saved["scheduler"])
        run.state.update(saved["loop_state"])
        torch.set_rng_state(saved["rng_state"])
    elif run.ctx.is_main:
        run.out.mkdir(parents=True, exist_ok=True)
    # a last.pt without best_learned judged its best epoch by F1 alone
    run.state.setdefault("best_learned", run.state["best_epoch"] > 0)
    run.ctx.broadcast_state(run.model, run.optimizer)
    run.ctx.barrier()


@contextmanager
def _tracking(run: _Run, track: bool) -> Iterator[NullTracker]:
    """The run's MLflow run on the main rank with `track` (else a tracker that records
    nothing), ended as FINISHED, KILLED (by StopTraining) or FAILED; prints the run's setup."""
    tracker = _start_tracking(run, track)
    if run.ctx.is_main:
        _print_setup(run)
    status = "FAILED"
    try:
        yield tracker
        status = "FINISHED"
    except StopTraining:
        status = "KILLED"
        raise
    finally:
        tracker.end(status)


def _start_tracking(run: _Run, track: bool) -> NullTracker:
    """An MLflow run, continued on resume; a fresh one logs the parameters and model.txt."""
    if not (run.ctx.is_main and track):
        return NullTracker()
    config, parameters = run.config, count_parameters(run.model)
    tracker = MlflowTracker("printability", run.out.name, run_id=run.state["run_id"])
    run.state["run_id"] = tracker.run_id
    if run.state["epoch"] == 0:
        tracker.log_params(
            {
                "train": config.to_dict(),
                "data": run.data_info,
                "parameters": parameters,
                "world_size": run.ctx.world_size,
                "precision": _precision_name(run.amp),
            }
        )
        (run.out / "model.txt").write_text(
            f"{config.model}: {parameters:,} parameters\n{run.model}\n"
        )
        tracker.log_artifact(run.out / "model.txt")
    return tracker


def _print_setup(run: _Run) -> None:
    """One line: where this rank runs, in which precision, the model and the split sizes."""
    ctx, splits = run.ctx, run.splits
    sizes = f"train {len(splits.train)} / val {len(splits.val)} / test {len(splits.test)}"
    print(
        f"{ctx.backend} rank {ctx.rank}/{ctx.world_size} (local {ctx.local_rank}) "
        f"on {ctx.device} ({_precision_name(run.amp)}); "
        f"{run.config.model} {count_parameters(run.model):,} parameters; {sizes}"
    )


def _train_and_validate(
    run: _Run, epoch: int, progress: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One epoch (0-based): train, then validate; returns its history row and the validation
    metrics, and counts it in the loop state."""
    run.splits.train.set_epoch(epoch)
    run.splits.sampler.set_epoch(epoch)
    start = time.perf_counter()
    train_loss, train_acc, seen = _train_epoch(run, epoch, progress)
    seconds = time.perf_counter() - start
    run.state["train_seconds"] += seconds
    run.state["train_samples"] += seen
    run.ctx.sync_buffers(run.model)
    val = _evaluate(run, run.splits.val_loader)
    row = {
        "epoch": epoch + 1,
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "val_f1": val["f1"],
        "val_learned": val["predicts_one_class"] is None,  # both answers given
        "samples_per_second": seen / seconds,
        "lr": run.optimizer.param_groups[0]["lr"],
    }
    run.state["history"].append(row)
    run.state["epoch"] = epoch + 1
    return row, val


def _update_best(state: dict[str, Any], config: TrainConfig, epoch: int, val: dict) -> bool:
    """Record whether `epoch` (1-based) is the best so far, and the epochs since validation
    last improved (for `patience`); True if this epoch's weights become best.pt."""
    improved = _is_better(val, state["best_learned"], state["best_f1"])
    if improved or _keeps_final(config, epoch, val):
        state.update(
            best_f1=val["f1"],
            best_learned=val["predicts_one_class"] is None,
            best_epoch=epoch,
            stale=0,
            best_val=val,
        )
    if not improved:
        state["stale"] += 1
    return state["best_epoch"] == epoch


def _log_and_save(
    run: _Run,
    tracker: NullTracker,
    row: dict[str, Any],
    val: dict[str, Any],
    kept: bool,
    on_epoch: EpochCallback | None,
) -> None:
    """On the main rank: log and print the epoch, write best.pt if `kept` and last.pt always,
    then call `on_epoch`."""
    epoch, config = row["epoch"], run.config
    tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
    print(
        f"epoch {epoch}/{config.epochs}: "
        f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
        f"val loss {val['loss']:.4f} acc {val['accuracy']:.4f} f1 {val['f1']:.4f} | "
        f"{row['samples_per_second']:.0f} samples/s{' *' if kept else ''}"
    )
    if kept:
        save_checkpoint(
            run.best_path, run.model, config, run.data_info,
            epoch=epoch, val=val, run_id=run.state["run_id"],
        )  # fmt: skip
    save_checkpoint(
        run.last_path, run.model, config, run.data_info,
        optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
        loop_state=run.state, rng_state=torch.get_rng_state(),
    )  # fmt: skip
    if on_epoch is not None:
        on_epoch(epoch, row)


def _out_of_patience(run: _Run) -> bool:
    """Whether `patience` epochs have passed without a better validation F1 (early stop)."""
    patience = run.config.patience
    if patience is None or run.state["stale"] < patience:
        return False
    if run.ctx.is_main:
        print(f"early stop: no better validation F1 for {patience} epochs")
    return True


def _finish(run: _Run, tracker: NullTracker) -> dict[str, Any]:
    """Test the best checkpoint on every rank's share of the test split; the main rank writes
    metrics.json, history.json and the learning curves and logs them."""
    ctx, state = run.ctx, run.state
    # Compare the trained weights across ranks before every rank loads rank 0's best.
    in_sync = ctx.same_on_all_ranks(_checksum(run.model))
    run.model.load_state_dict(load_checkpoint(run.best_path)["state_dict"])
    test = _evaluate(run, run.splits.test_loader)
    metrics = {
        "model": run.config.model,
        "parameters": count_parameters(run.model),
        "test": test,
        "val": state["best_val"],
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "train_seconds": round(state["train_seconds"], 2),
        "samples_per_second": round(state["train_samples"] / max(state["train_seconds"], 1e-9), 1),
        "world_size": ctx.world_size,
        "dist": ctx.backend,
        "ranks_in_sync": in_sync,
        "precision": _precision_name(run.amp),
    }
    if ctx.is_main:
        _write_results(run, tracker, metrics)
    # every rank arrives before any leaves the process group: a gloo peer that closes its
    # connections while the other still writes can abort that other process
    ctx.barrier()
    return metrics


def _write_results(run: _Run, tracker: NullTracker, metrics: dict[str, Any]) -> None:
    """metrics.json, history.json and learning_curves.png in the run folder, logged; a summary."""
    out, test = run.out, metrics["test"]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "history.json").write_text(json.dumps(run.state["history"], indent=2) + "\n")
    _plot_history(run.state["history"], out / "learning_curves.png")
    tracker.log_metrics({f"test_{k}": v for k, v in test.items() if isinstance(v, int | float)})
    for name in ("metrics.json", "learning_curves.png", "best.pt"):
        tracker.log_artifact(out / name)
    print(
        f"test: accuracy {test['accuracy']:.4f} f1 {test['f1']:.4f} "
        f"(best epoch {metrics['best_epoch']}); "
        f"{metrics['samples_per_second']} samples/s; wrote {out / 'metrics.json'}"
    )
    if test["predicts_one_class"]:
        print(
            f"note: the model says {test['predicts_one_class']!r} for every test sample: "
            "it has not learned the defects (train longer, on more samples, or with "
            "another --lr)"
        )


def _train_epoch(run: _Run, epoch: int, progress: bool) -> tuple[float, float, int]:
    """One pass over this rank's share; returns the all-reduced mean loss, accuracy and count.
    Batches with a third item (defect cells) add the location loss, weighted."""
    ctx, net, optimizer = run.ctx, run.net, run.optimizer
    net.train()
    loss_sum = correct = seen = 0.0
    bar = tqdm(
        run.splits.train_loader,
        desc=f"epoch {epoch + 1}/{run.config.epochs}",
        disable=not progress,
        leave=False,
        unit="batch",
    )
    start = time.perf_counter()
    for x, y, *cells in bar:
        x = x.to(ctx.device, memory_format=run.memory_format, non_blocking=True)
        y = y.to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=run.amp, enabled=run.amp is not None):
            if cells:
                logits, cell_logits = net(x, cells=True)
            else:
                logits = net(x)
        loss = run.loss_fn(logits.float(), y)
        if cells:
            target = cells[0].to(ctx.device)
            loss = loss + run.config.location_weight * location_loss(cell_logits.float(), target)
        optimizer.zero_grad()  # sets to None; Horovod's optimizer takes no arguments here
        run.scaler.scale(loss).backward()  # fp16 only: scaled so small gradients do not underflow
        run.scaler.step(optimizer)
        run.scaler.update()
        run.scheduler.step()
        loss_sum += loss.item() * len(y)
        correct += ((logits.detach().float() > 0) == (y > 0.5)).sum().item()
        seen += len(y)
        bar.set_postfix(
            loss=f"{loss_sum / seen:.4f}",
            sps=f"{seen * ctx.world_size / (time.perf_counter() - start):.0f}",
        )
    loss_sum, correct, seen = ctx.all_reduce_sum([loss_sum, correct, seen])
    return loss_sum / max(seen, 1), correct / max(seen, 1), int(seen)


@torch.no_grad()
def _evaluate(run: _Run, loader: DataLoader) -> dict[str, Any]:
    """Loss, accuracy, precision, recall, F1 and confusion matrix over every rank's share."""
    model, ctx = run.model, run.ctx
    model.eval()
    loss_sum, tn, fp, fn, tp = 0.0, 0, 0, 0, 0
    for x, y in loader:
        x = x.to(ctx.device, memory_format=run.memory_format)
        y = y.to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=run.amp, enabled=run.amp is not None):
            logits = model(x).float()
        loss_sum += run.loss_fn(logits, y).item() * len(y)
        pred, truth = logits > 0, y > 0.5
        tn += int((~pred & ~truth).sum())
        fp += int((pred & ~truth).sum())
        fn += int((~pred & truth).sum())
        tp += int((pred & truth).sum())
    loss_sum, tn, fp, fn, tp = ctx.all_reduce_sum([loss_sum, tn, fp, fn, tp])
    matrix = np.array([[tn, fp], [fn, tp]], dtype=int)
    scores = scores_from_confusion(matrix)
    loss = float(loss_sum / max(int(matrix.sum()), 1))
    return {
        "loss": loss,
        **scores,
        "confusion_matrix": matrix.tolist(),
        "predicts_one_class": predicts_one_class(matrix),
    }


LOCATION_POSITIVE_WEIGHT = 20.0
"""Defect cells are about 1% of all cells: weighted 20x, the location head does not settle on
'nowhere'."""


def location_loss(cell_logits: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the defect logit of every cell against the defect mask's cells
    (1 where a cell holds a defect voxel), positives weighted LOCATION_POSITIVE_WEIGHT."""
    weight = torch.tensor(LOCATION_POSITIVE_WEIGHT, device=cell_logits.device)
    return nn.functional.binary_cross_entropy_with_logits(cell_logits, cells, pos_weight=weight)


def _location_cells(model: nn.Module, config: TrainConfig, resolution: int) -> int | None:
    """The edge of the model's grid of defect cells at this resolution (one probe pass), or None
    when the location loss is off or the model has no location head."""
    if not config.location_weight or not get_model_spec(config.model).locates:
        return None
    shape = get_input(config.input).shape(resolution)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        _, cell_logits = model(
            torch.zeros(1, *shape, device=next(model.parameters()).device), cells=True
        )
    model.train(was_training)
    return int(cell_logits.shape[-1])


def _keeps_final(config: TrainConfig, epoch: int, val: dict[str, Any]) -> bool:
    """Whether this epoch's weights become best.pt although validation F1 did not improve: with
    `select="final"`, the last epoch of a schedule run to its end (the learning rate has decayed
    to zero) is kept, unless it says one class for every validation sample. Picking among the
    annealed epochs by a few hundred validation samples chooses validation noise; the final
    weights did as well or better on the test split (docs/benchmarks.md)."""
    return config.select == "final" and epoch == config.epochs and val["predicts_one_class"] is None


def _is_better(val: dict[str, Any], best_learned: bool, best_f1: float) -> bool:
    """Whether this epoch's validation beats the best so far: an epoch that gave both answers
    beats one that said the same for every sample, whatever their F1 (all "printable" scores
    0.667 on balanced data, more than a network that has started to learn may); then F1."""
    return (val["predicts_one_class"] is None, val["f1"]) > (best_learned, best_f1)


def _checksum(model: nn.Module) -> float:
    """A number that changes with any weight: to check that DDP kept the ranks identical."""
    return float(sum(p.detach().double().sum() * (i + 1) for i, p in enumerate(model.parameters())))


def _loader(dataset, config: TrainConfig, sampler=None) -> DataLoader:
    workers = config.num_workers
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=workers,
        persistent_workers=workers > 0,
        drop_last=False,
    )


def _shard(dataset: VoxelTorchDataset, ctx: DistContext):
    """This rank's disjoint, strided part of an evaluation split (no padding, exact metrics)."""
    return (
        Subset(dataset, range(ctx.rank, len(dataset), ctx.world_size))
        if ctx.distributed
        else dataset
    )


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    lr, wd = config.lr, config.weight_decay
    params = _param_groups(model, lr, get_model_spec(config.model).lr_fan_in)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(config.momentum, 0.999), weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(config.momentum, 0.999), weight_decay=wd)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, nesterov=True, weight_decay=wd
        )
    return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)


def _param_groups(model: nn.Module, lr: float, lr_fan_in: int | None) -> list[dict[str, Any]]:
    """All parameters at lr; with `lr_fan_in`, one group per layer, in which a Conv3d with more
    inputs than that trains at lr * lr_fan_in / fan_in.

    Why: Adam moves every weight by about lr per step whatever the layer's size, so a conv with
    15,309 inputs (9^3 x 21) changes its outputs far more per step, relative to their size, than
    a 3^3 conv of 32 channels; scaled, the study's large kernels take steps of the size the
    default model's take, and they learn instead of staying at chance (docs/benchmarks.md)."""
    if not lr_fan_in:
        return [{"params": list(model.parameters()), "lr": lr}]
    groups = []
    for module in model.modules():
        own = list(module.parameters(recurse=False))
        if not own:
            continue
        scale = 1.0
        if isinstance(module, nn.Conv3d):
            scale = min(1.0, lr_fan_in / module.weight[0].numel())
        groups.append({"params": own, "lr": lr * scale})
    return groups


def _warmup_cosine(config: TrainConfig, steps_per_epoch: int, total_steps: int):
    """LR factor per step: linear warm-up over warmup_epochs, then cosine decay to zero."""
    warmup = max(1, round(config.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _autocast_dtype(config: TrainConfig, ctx: DistContext) -> torch.dtype | None:
    """The mixed-precision dtype of autocast, None for fp32. "auto": bf16 where the hardware
    runs it natively (AMX/AVX-512 bf16 CPUs, Ampere+ GPUs), else fp16 on a GPU (with loss
    scaling), else fp32."""
    device, precision = ctx.device, config.precision
    if precision == "auto":
        if native_bf16(device):
            return torch.bfloat16
        precision = "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("--precision fp16 needs a CUDA GPU; use bf16 or fp32 on a CPU")
        if ctx.backend == "horovod":
            raise ValueError("--precision fp16 is not supported with Horovod; use bf16 or fp32")
        return torch.float16
    return torch.bfloat16 if precision == "bf16" else None


def _precision_name(amp: torch.dtype | None) -> str:
    """How a run's metrics name its precision."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(amp, "fp32")


def _share_cpu_threads(ctx: DistContext) -> None:
    """Split the CPU cores between the ranks on one machine instead of oversubscribing them."""
    local_world = ctx.local_world_size
    if local_world > 1 and not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))


def _plot_history(history: list[dict], path: Path) -> None:
    """Loss and accuracy/F1 per epoch, for train and validation."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set(title="loss (BCE)", xlabel="epoch")
    ax2.plot(epochs, [h["train_accuracy"] for h in history], "o-", label="train accuracy")
    ax2.plot(epochs, [h["val_accuracy"] for h in history], "o-", label="validation accuracy")
    ax2.plot(epochs, [h["val_f1"] for h in history], "s--", label="validation F1")
    ax2.set(title="accuracy and F1", xlabel="epoch", ylim=(0, 1.02))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
