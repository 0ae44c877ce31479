"""Horovod as the data-parallel engine: `horovodrun -np K ... train --dist horovod`.

The 2021 study's way: hvd.init(), a DistributedOptimizer that averages gradients with
allreduce, rank 0's parameters and optimizer state broadcast at the start, metric sums
allreduced. horovod is imported here only, and only when `--dist horovod` asks for it; where it
does not import, the error is one line that points to docs/horovod.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from printability.train.distributed import DistContext

INSTALL_HINT = "docs/horovod.md says how to build it against this torch"


def load() -> Any:
    """`horovod.torch`, or a ValueError (the CLI prints one line and exits 2)."""
    try:
        return importlib.import_module("horovod.torch")
    except (ImportError, OSError) as exc:  # not installed, or built against another torch
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        message = f"--dist horovod: horovod.torch does not import ({reason}); {INSTALL_HINT}"
        raise ValueError(message) from None


@dataclass(frozen=True)
class HorovodContext(DistContext):
    """A rank of a Horovod job; `hvd` is the horovod.torch module (or a stand-in in tests)."""

    hvd: Any = field(default=None, repr=False, compare=False)

    backend = "horovod"

    def wrap_model(self, model: nn.Module) -> nn.Module:
        # Horovod's in-place collectives take contiguous tensors only, and a gradient takes its
        # parameter's layout: the weights stay in the default layout (inputs may still be
        # channels_last). The parameters are converted in place, so they stay the same objects.
        return model.to(memory_format=torch.contiguous_format)

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer, model: nn.Module):
        # A new optimizer of the same class over the same parameter groups; it allreduces
        # (averages) each gradient as backward produces it and waits for them in step().
        return self.hvd.DistributedOptimizer(optimizer, named_parameters=model.named_parameters())

    def broadcast_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.hvd.broadcast_parameters(model.state_dict(), root_rank=0)
        for param_state in optimizer.state.values():  # e.g. resumed from a channels_last run
            for key, value in param_state.items():
                if torch.is_tensor(value) and not value.is_contiguous():
                    param_state[key] = value.contiguous()
        self.hvd.broadcast_optimizer_state(optimizer, root_rank=0)

    def sync_buffers(self, model: nn.Module) -> None:
        buffers = dict(model.named_buffers())
        if buffers:
            self.hvd.broadcast_parameters(buffers, root_rank=0)

    def reduce(self, values: list[float], op: str) -> list[float]:
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        hvd_op = {"sum": self.hvd.Sum, "max": self.hvd.Max}[op]
        return self.hvd.allreduce(tensor, op=hvd_op).cpu().tolist()

    def barrier(self) -> None:
        self.hvd.barrier()

    def close(self) -> None:
        self.hvd.shutdown()


def setup() -> HorovodContext:
    """hvd.init(); rank, size and local rank from Horovod; one GPU per local rank if any."""
    hvd = load()
    hvd.init()
    if torch.cuda.is_available():
        torch.cuda.set_device(hvd.local_rank())
        device = torch.device("cuda", hvd.local_rank())
    else:
        device = torch.device("cpu")
    return HorovodContext(
        hvd.rank(), hvd.size(), hvd.local_rank(), device, hvd.local_size(), hvd=hvd
    )
