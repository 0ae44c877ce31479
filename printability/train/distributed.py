"""Data-parallel context: who this process is in the job, and the few collectives the loop uses.

Three kinds, chosen by `setup(dist)`:
- one process (no torchrun): every collective is a no-op, so the loop reads the same;
- torch.distributed from torchrun's environment (`--dist torch`, or `auto` when torchrun's
  WORLD_SIZE is set): DistributedDataParallel, NCCL on GPUs and gloo on CPUs;
- Horovod (`--dist horovod`, under horovodrun): see `horovod_backend`, imported only then.

The loop calls the context's methods; each context class answers them its own way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from printability.config import DIST_BACKENDS


@dataclass(frozen=True)
class DistContext:
    """One process on its own; the base of the distributed contexts."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    local_world_size: int = 1  # processes on this machine (they share its CPU cores)

    backend = "single"

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, writes checkpoints and tracks the run."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def wrap_model(self, model: nn.Module) -> nn.Module:
        """The module to train through (gradients averaged where the backend does it there)."""
        return model

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer, model: nn.Module):
        """The optimizer to step (gradients averaged where the backend does it there)."""
        return optimizer

    def broadcast_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Make every rank start from rank 0's weights and optimizer state."""

    def sync_buffers(self, model: nn.Module) -> None:
        """Give every rank rank 0's buffers (batch-norm statistics) before evaluating."""

    def reduce(self, values: list[float], op: str) -> list[float]:
        """`op` ("sum" or "max") of a few numbers over all ranks, as float64."""
        return values

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Sum a few numbers over all ranks (counts and loss sums, so means come out exact)."""
        return self.reduce(values, "sum")

    def same_on_all_ranks(self, value: float) -> bool:
        """True if every rank holds the same `value` (e.g. a weight checksum)."""
        high, neg_low = self.reduce([value, -value], "max")  # max of v and -v: equal iff all agree
        return high == -neg_low

    def barrier(self) -> None:
        """Wait for every rank."""

    def close(self) -> None:
        """Leave the job."""


@dataclass(frozen=True)
class TorchContext(DistContext):
    """torch.distributed under torchrun: DDP averages gradients, all_reduce sums metrics."""

    backend = "torch"

    def wrap_model(self, model: nn.Module) -> nn.Module:
        # DDP broadcasts rank 0's parameters and buffers when it is built.
        return DistributedDataParallel(model) if self.distributed else model

    def reduce(self, values: list[float], op: str) -> list[float]:
        if not self.distributed:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
        return tensor.tolist()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def setup(dist_backend: str = "auto") -> DistContext:
    """Join the job `dist_backend` names (see DIST_BACKENDS); a ValueError says what is missing."""
    if dist_backend not in DIST_BACKENDS:
        choices = ", ".join(DIST_BACKENDS)
        raise ValueError(f"unknown --dist {dist_backend!r}; choose from {choices}")
    if dist_backend == "horovod":
        from printability.train import horovod_backend

        return horovod_backend.setup()
    if "WORLD_SIZE" not in os.environ:
        if dist_backend == "torch":
            raise ValueError("--dist torch needs torchrun's environment: start it with torchrun")
        if "HOROVOD_RANK" in os.environ:
            raise ValueError("started by horovodrun: add --dist horovod (see docs/horovod.md)")
        # one process trains on the first GPU when there is one (as torchrun's rank 0 would)
        return DistContext(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    return _setup_torch()


def _setup_torch() -> TorchContext:
    """Join the torchrun job (NCCL on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return TorchContext(rank, world, local_rank, device, local_world)
