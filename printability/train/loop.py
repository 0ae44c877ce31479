"""The training loop: reads top to bottom, the same for one process, torchrun or Horovod.

Per epoch: train on this rank's share of the training split (the 48 cube symmetries as
augmentation), evaluate on the validation split, all-reduce the sums so every rank sees the
same exact metrics, keep the best checkpoint by validation F1 and the last one (for --resume),
and, with `patience`, stop early when validation F1 stops improving. A schedule run to its end
keeps its final weights as the best checkpoint (`select="final"`, the default; `_keeps_final`).
At the end, the best checkpoint is evaluated on the test split and RUN_DIR/metrics.json is
written.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
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
    load_checkpoint,
    model_input,
    model_kwargs,
    save_checkpoint,
)
from printability.train.distributed import DistContext
from printability.train.tracking import MlflowTracker, NullTracker


def train(
    data: str | Path,
    out: str | Path,
    config: TrainConfig,
    resume: bool = False,
    track: bool = True,
    progress: bool = True,
    dist: str = "auto",
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train `config.model` on the dataset in `data`, writing checkpoints and metrics to `out`.

    `dist` picks the data-parallel engine: "auto" (torchrun's if its environment is set, else
    one process), "torch" or "horovod" (see printability.train.distributed).
    `on_epoch(epoch, row)` is called on the main rank after each epoch's validation with the
    1-based epoch and its history row (val_f1, val_loss, ...); it may raise to stop the run
    (printability.tune raises optuna.TrialPruned, tracked as KILLED, other errors as FAILED).
    """
    ctx = distributed.setup(dist)
    try:
        return _train(
            Path(data), Path(out), config, resume, track, progress and ctx.is_main, ctx, on_epoch
        )
    finally:
        ctx.close()


def _train(
    data: Path,
    out: Path,
    config: TrainConfig,
    resume: bool,
    track: bool,
    progress: bool,
    ctx: DistContext,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    _share_cpu_threads(ctx)
    torch.manual_seed(config.seed)
    config = replace(config, input=model_input(config))  # checkpoints name what was read
    info = read_info(data)
    data_info = {
        "dataset": str(data),
        "resolution": info["resolution"],
        "generate_config": info["config"],
        "thresholds": info["thresholds"],
    }
    model = create_model(config.model, **model_kwargs(config)).to(ctx.device)
    cells = _location_cells(model, config, info["resolution"])
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
    loader = _loader(train_set, config, sampler=sampler)
    val_loader = _loader(_shard(val_set, ctx), config)
    test_loader = _loader(_shard(test_set, ctx), config)

    memory_format = torch.channels_last_3d if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    net = ctx.wrap_model(model)
    optimizer = ctx.wrap_optimizer(_optimizer(model, config), model)
    total_steps = config.epochs * max(1, len(loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(config, len(loader), total_steps)
    )
    loss_fn = nn.BCEWithLogitsLoss()
    amp = _autocast_dtype(config, ctx)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=amp == torch.float16)

    state = {
        "epoch": 0,
        "best_f1": -1.0,
        "best_epoch": -1,
        "stale": 0,
        "history": [],
        "run_id": None,
        "train_seconds": 0.0,
        "train_samples": 0,
    }
    last_path, best_path = out / "last.pt", out / "best.pt"
    if resume and last_path.exists():
        saved = load_checkpoint(last_path)
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state.update(saved["loop_state"])
        torch.set_rng_state(saved["rng_state"])
    elif ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    # runs saved before best_learned existed kept their best by F1 alone
    state.setdefault("best_learned", state["best_epoch"] > 0)
    ctx.broadcast_state(model, optimizer)
    ctx.barrier()

    tracker = NullTracker()
    if ctx.is_main and track:
        tracker = MlflowTracker("printability", out.name, run_id=state["run_id"])
        state["run_id"] = tracker.run_id
        if state["epoch"] == 0:
            tracker.log_params(
                {
                    "train": config.to_dict(),
                    "data": data_info,
                    "parameters": count_parameters(model),
                    "world_size": ctx.world_size,
                    "precision": _precision_name(amp),
                }
            )
            (out / "model.txt").write_text(
                f"{config.model}: {count_parameters(model):,} parameters\n{model}\n"
            )
            tracker.log_artifact(out / "model.txt")
    if ctx.is_main:
        print(
            f"{ctx.backend} rank {ctx.rank}/{ctx.world_size} (local {ctx.local_rank}) "
            f"on {ctx.device} ({_precision_name(amp)}); "
            f"{config.model} {count_parameters(model):,} parameters; "
            f"train {len(train_set)} / val {len(val_set)} / test {len(test_set)}"
        )

    status = "FAILED"
    try:
        for epoch in range(state["epoch"], config.epochs):
            train_set.set_epoch(epoch)
            sampler.set_epoch(epoch)
            start = time.perf_counter()
            train_loss, train_acc, seen = _train_epoch(
                net,
                loader,
                optimizer,
                scheduler,
                loss_fn,
                amp,
                scaler,
                memory_format,
                ctx,
                progress,
                epoch,
                config.epochs,
                config.location_weight,
            )
            seconds = time.perf_counter() - start
            state["train_seconds"] += seconds
            state["train_samples"] += seen
            ctx.sync_buffers(model)
            val = _evaluate(model, val_loader, loss_fn, amp, memory_format, ctx)
            row = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "train_accuracy": train_acc,
                "val_loss": val["loss"],
                "val_accuracy": val["accuracy"],
                "val_f1": val["f1"],
                "val_learned": val["predicts_one_class"] is None,  # both answers given
                "samples_per_second": seen / seconds,
                "lr": optimizer.param_groups[0]["lr"],
            }
            state["history"].append(row)
            state["epoch"] = epoch + 1
            improved = _is_better(val, state["best_learned"], state["best_f1"])
            if improved or _keeps_final(config, epoch + 1, val):
                state.update(
                    best_f1=val["f1"],
                    best_learned=val["predicts_one_class"] is None,
                    best_epoch=epoch + 1,
                    stale=0,
                    best_val=val,
                )
            if not improved:
                state["stale"] += 1
            kept = state["best_epoch"] == epoch + 1
            if ctx.is_main:
                tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch + 1)
                print(
                    f"epoch {epoch + 1}/{config.epochs}: "
                    f"train loss {train_loss:.4f} acc {train_acc:.4f} | "
                    f"val loss {val['loss']:.4f} acc {val['accuracy']:.4f} f1 {val['f1']:.4f} | "
                    f"{row['samples_per_second']:.0f} samples/s{' *' if kept else ''}"
                )
                if kept:
                    save_checkpoint(
                        best_path, model, config, data_info,
                        epoch=epoch + 1, val=val, run_id=state["run_id"],
                    )  # fmt: skip
                save_checkpoint(
                    last_path,
                    model,
                    config,
                    data_info,
                    optimizer=optimizer.state_dict(),
                    scheduler=scheduler.state_dict(),
                    loop_state=state,
                    rng_state=torch.get_rng_state(),
                )
                if on_epoch is not None:
                    on_epoch(epoch + 1, row)
            ctx.barrier()
            if config.patience is not None and state["stale"] >= config.patience:
                if ctx.is_main:
                    print(f"early stop: no better validation F1 for {config.patience} epochs")
                break

        # Compare the trained weights across ranks before every rank loads rank 0's best.
        in_sync = ctx.same_on_all_ranks(_checksum(model))
        model.load_state_dict(load_checkpoint(best_path)["state_dict"])
        test = _evaluate(model, test_loader, loss_fn, amp, memory_format, ctx)
        metrics = {
            "model": config.model,
            "parameters": count_parameters(model),
            "test": test,
            "val": state["best_val"],
            "best_epoch": state["best_epoch"],
            "epochs_run": state["epoch"],
            "train_seconds": round(state["train_seconds"], 2),
            "samples_per_second": round(
                state["train_samples"] / max(state["train_seconds"], 1e-9), 1
            ),
            "world_size": ctx.world_size,
            "dist": ctx.backend,
            "ranks_in_sync": in_sync,
            "precision": _precision_name(amp),
        }
        if ctx.is_main:
            (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            (out / "history.json").write_text(json.dumps(state["history"], indent=2) + "\n")
            _plot_history(state["history"], out / "learning_curves.png")
            tracker.log_metrics(
                {f"test_{k}": v for k, v in test.items() if isinstance(v, int | float)}
            )
            for name in ("metrics.json", "learning_curves.png", "best.pt"):
                tracker.log_artifact(out / name)
            print(
                f"test: accuracy {test['accuracy']:.4f} f1 {test['f1']:.4f} "
                f"(best epoch {state['best_epoch']}); "
                f"{metrics['samples_per_second']} samples/s; wrote {out / 'metrics.json'}"
            )
            if test["predicts_one_class"]:
                print(
                    f"note: the model says {test['predicts_one_class']!r} for every test sample: "
                    "it has not learned the defects (train longer, on more samples, or with "
                    "another --lr)"
                )
        # every rank arrives before any leaves the process group: a gloo peer that closes its
        # connections while the other still writes can abort that other process
        ctx.barrier()
        status = "FINISHED"
        return metrics
    except Exception as exc:
        optuna = sys.modules.get("optuna")  # a pruned trial was stopped on purpose, not failed
        if optuna is not None and isinstance(exc, optuna.TrialPruned):
            status = "KILLED"
        raise
    finally:
        tracker.end(status)


def _train_epoch(
    net,
    loader,
    optimizer,
    scheduler,
    loss_fn,
    amp,
    scaler,
    memory_format,
    ctx,
    progress,
    epoch,
    epochs,
    location_weight=0.0,
):
    """One pass over this rank's share; returns the all-reduced mean loss, accuracy and count.
    Batches with a third item (defect cells) add the location loss, weighted."""
    net.train()
    loss_sum = correct = seen = 0.0
    bar = tqdm(
        loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False, unit="batch"
    )
    start = time.perf_counter()
    for x, y, *cells in bar:
        x = x.to(ctx.device, memory_format=memory_format, non_blocking=True)
        y = y.to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=amp, enabled=amp is not None):
            if cells:
                logits, cell_logits = net(x, cells=True)
            else:
                logits = net(x)
        loss = loss_fn(logits.float(), y)
        if cells:
            target = cells[0].to(ctx.device)
            loss = loss + location_weight * location_loss(cell_logits.float(), target)
        optimizer.zero_grad()  # sets to None; Horovod's optimizer takes no arguments here
        scaler.scale(loss).backward()  # fp16 only: scaled so small gradients do not underflow
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
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
def _evaluate(model, loader, loss_fn, amp, memory_format, ctx) -> dict[str, Any]:
    """Loss, accuracy, precision, recall, F1 and confusion matrix over every rank's share."""
    model.eval()
    loss_sum, tn, fp, fn, tp = 0.0, 0, 0, 0, 0
    for x, y in loader:
        x = x.to(ctx.device, memory_format=memory_format)
        y = y.to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=amp, enabled=amp is not None):
            logits = model(x).float()
        loss_sum += loss_fn(logits, y).item() * len(y)
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
    annealed epochs by a few hundred validation samples chooses validation noise: on two fresh
    default datasets, the final weights erred on no more test samples than the best validation
    epoch for any of 3 seeds, and on fewer in 4 of the 6 runs (docs/results.md)."""
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
    default model's take, and they learn instead of staying at chance (docs/results.md)."""
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
