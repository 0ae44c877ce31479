"""Inference-only rewrites of a trained network that give the same outputs, faster."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy in which every Conv3d directly followed by a BatchNorm3d (inside one
    nn.Sequential) has the normalisation folded into its weights and bias (torch's
    fuse_conv_bn_eval); the BatchNorm becomes an Identity. The input model is left unchanged.

    Why: at 64^3 the batch norms after the early convs cost as much as a conv pass each, and
    their bf16/fp32 conversions as much again; folded, they cost nothing."""
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names[:-1], names[1:], strict=True):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv3d) and isinstance(norm, nn.BatchNorm3d):
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return fused


def native_bf16(device: torch.device) -> bool:
    """True where bf16 autocast runs on native hardware (AMX/AVX-512 bf16 CPUs, Ampere+ GPUs):
    elsewhere it is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())
