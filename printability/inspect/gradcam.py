"""3D Grad-CAM: where in the voxel grid a network sees the defect that makes a part unprintable.

Grad-CAM (Selvaraju et al. 2017; in 3D for drilled holes, Ghadai et al. 2018) weights each
channel of a conv layer's activations A_c by the mean gradient of a score over that channel,
sums, and keeps the positive part: cam = relu(sum_c mean(dS/dA_c) * A_c). Here the score S is
the NEGATIVE logit (every registry network returns one logit, positive = printable), so the map
shows the evidence AGAINST printability: it lights up at the hole or thin wall, not at the solid
material that argues for a good part. The coarse map is upsampled trilinearly to the input grid
and divided by its maximum, so it lies in [0, 1] (all zeros when the network sees no evidence
of a defect at all).

    heat = grad_cam(model, voxels)          # (N, N, N) floats in [0, 1]
    x, y, z = peak(heat)                    # index coordinates of the most suspicious spot

Index coordinates: voxel (i, j, k) is grid[i, j, k] (x = axis 0, y = axis 1, z = axis 2); its
centre lies at (i + 0.5, j + 0.5, k + 0.5) in the continuous voxel coordinates of the dataset's
hole_center_* columns (geometry/measure.py: hole_mask).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from printability.data.inputs import LEGACY_INPUT, get_input, model_input
from printability.inspect.heat import PEAK_TOP_FRACTION, peak  # noqa: F401 (this module's API)


def default_layer(
    model: nn.Module, resolution: int = 64, input_name: str = LEGACY_INPUT
) -> nn.Module:
    """The target layer for Grad-CAM: the last block holding an nn.Conv3d (a conv + BatchNorm +
    ReLU nn.Sequential, a residual block, an inception block) whose output is still at least
    resolution / 8 cells wide (resolution: the voxel grid's), so that a defect a few voxels
    across is not smeared over a large part of the part. Found by one probe forward pass on
    input `input_name` (cached per model, resolution and input).

    Block outputs (after BatchNorm and ReLU, or after the residual sum) are used rather than
    raw conv outputs, as in the original Grad-CAM. At 64^3 this picks distnet `features.4`
    (8^3, the map its location head reads), fastnet `features.5` (8^3), vanilla3dcnn
    `features.6` (8^3), resnet_small `stages.5` (8^3), inception_v1/v3 `blocks.3` (8^3).

    Measured for fastnet (bench/explain.py: pointing game, 206 non-printable test samples of
    a 64^3 dataset; each layer with its best peak rule): `features.5` (8^3) 96% with the
    default centroid peak; the last block `features.7` (4^3) 89% at best (a cell spans 16
    voxels, the size of the part's features); `features.3` (16^3) 73% and `features.1` (32^3)
    96% with an argmax, whose maps also light up edges and corners. The last block at >= N/8
    is the coarsest layer that is still fine enough, and the deepest layers are the ones
    whose channels separate defects from ordinary geometry; a finer layer multiplied with it
    (a list of layers in `grad_cam`) points better still."""
    key = (resolution, input_name, next(model.parameters()).device)
    cached = _DEFAULT_LAYERS.get(model, {}).get(key)
    if cached is not None:
        return model.get_submodule(cached)
    fired: list[tuple[str, nn.Module, torch.Tensor]] = []
    candidates = {
        name: m
        for name, m in model.named_modules()
        if m is not model and any(isinstance(s, nn.Conv3d) for s in m.modules())
    }

    def recorder(name: str):
        def record(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 5:
                fired.append((name, module, output))

        return record

    handles = [m.register_forward_hook(recorder(n)) for n, m in candidates.items()]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, *get_input(input_name).shape(resolution), device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    fine = [f for f in fired if min(f[2].shape[2:]) >= max(1, resolution // 8)]
    if not fine:
        raise ValueError(f"{type(model).__name__}: no conv layer with a 5D output to explain")
    # hooks fire when a module returns, so the last one fired is the outermost module that
    # ends last (e.g. resnet's whole `stages`); step down to the innermost block that returns
    # the very same tensor
    name, _module, output = fine[-1]
    for child_name, _child, child_output in reversed(fine):
        if child_output is output and child_name.startswith(name + "."):
            name = child_name
    _DEFAULT_LAYERS.setdefault(model, {})[key] = name
    return model.get_submodule(name)


_DEFAULT_LAYERS: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def _as_batch(voxels: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N,N,N) / (B,N,N,N) / (B,1,N,N,N) bool, int or float -> float32 (B, 1, N, N, N)."""
    x = torch.as_tensor(np.asarray(voxels) if not torch.is_tensor(voxels) else voxels)
    x = x.detach().to(device=device, dtype=torch.float32)
    if x.dim() == 3:
        x = x[None, None]
    elif x.dim() == 4:
        x = x[:, None]
    if x.dim() != 5 or x.shape[1] != 1:
        raise ValueError(f"voxels must be (N,N,N), (B,N,N,N) or (B,1,N,N,N); got {tuple(x.shape)}")
    return x.contiguous()


def network_input(batch: torch.Tensor, input_name: str) -> torch.Tensor:
    """A batch of grids from `_as_batch` as the network's input (B, C, n, n, n), made by
    data.inputs.model_input (occupancy: the grids themselves)."""
    if input_name == LEGACY_INPUT:
        return batch
    grids = batch[:, 0].cpu().numpy() > 0.5
    features = np.stack([model_input(grid, input_name) for grid in grids])
    return torch.from_numpy(features).to(batch.device)


def grad_cam(
    model: nn.Module,
    voxels: np.ndarray | torch.Tensor,
    layer: nn.Module | str | Sequence[nn.Module | str] | None = None,
    input_name: str = LEGACY_INPUT,
    inputs: np.ndarray | None = None,
) -> np.ndarray:
    """3D Grad-CAM of the evidence against printability, upsampled to the voxel grid.

    voxels: (N, N, N) occupancy (bool or float, numpy or torch); a batch (B, N, N, N) or
    (B, 1, N, N, N) gives one map per sample. input_name: the input the model reads
    (data/inputs.py), made from the grids here unless `inputs` gives it ((B, C, n, n, n), e.g.
    cut from a larger part's input). layer: the module to explain, or its dotted
    name (e.g. "features.5"); default `default_layer(model, N, input_name)`. A list of layers
    gives the product
    of their normalised maps (one forward and one backward pass): a fine layer's sharp map
    gated by a coarse layer's reliable one; for fastnet ["features.1", "features.5"] with an
    argmax peak points better than the default (bench/explain.py). Returns float32 in [0, 1]
    of shape (N, N, N), or (B, N, N, N) for a batch.

    The score is -logit (the defect's evidence; see the module docstring). The network runs in
    fp32 eval mode with gradients enabled whatever the caller's context (autocast off,
    torch.enable_grad) and is put back in its previous train/eval mode. A forward hook on each
    layer keeps its output (removed before returning), and torch.autograd.grad takes the
    score's gradient with respect to those outputs only: the backward pass stops at the
    layers, and no parameter's .grad is touched."""
    parameter = next(model.parameters())
    if parameter.dtype != torch.float32:
        raise ValueError(f"grad_cam needs fp32 weights, got {parameter.dtype}")
    grids = _as_batch(voxels, parameter.device)
    size = grids.shape[2:]
    if inputs is None:
        x = network_input(grids, input_name)
    else:
        x = torch.as_tensor(np.asarray(inputs, np.float32), device=parameter.device)
    if layer is None:
        layer = default_layer(model, size[-1], input_name)
    layers = [layer] if isinstance(layer, (str, nn.Module)) else list(layer)
    modules = [model.get_submodule(m) if isinstance(m, str) else m for m in layers]

    captured: dict[int, torch.Tensor] = {}

    def keeper(index: int):
        def keep_activation(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            captured[index] = output

        return keep_activation

    was_training = model.training
    handles = [m.register_forward_hook(keeper(i)) for i, m in enumerate(modules)]
    try:
        model.eval()
        with torch.enable_grad(), torch.autocast(x.device.type, enabled=False):
            x.requires_grad_(True)  # a graph even when the weights are frozen
            logits = model(x)
            for i, m in enumerate(modules):
                if i not in captured or not captured[i].requires_grad:
                    raise ValueError(f"layer {type(m).__name__} is not on the path to the logit")
            activations = [captured[i] for i in range(len(modules))]
            # -logit: the evidence for "not printable". Samples are independent in eval mode,
            # so one backward of the sum gives every sample its own gradient.
            gradients = torch.autograd.grad((-logits).sum(), activations)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)

    heat = torch.ones(x.shape[0], 1, *size, device=x.device)
    for activation, gradient in zip(activations, gradients, strict=True):
        weights = gradient.mean(dim=(2, 3, 4), keepdim=True)  # (B, C, 1, 1, 1)
        cam = torch.relu((weights * activation.detach()).sum(dim=1, keepdim=True))
        heat = heat * _normalised(
            F.interpolate(cam, size=size, mode="trilinear", align_corners=False)
        )
    heat = _normalised(heat)[:, 0].cpu().numpy().astype(np.float32)
    return heat[0] if x.shape[0] == 1 and _ndim(voxels) == 3 else heat


def _ndim(voxels: np.ndarray | torch.Tensor) -> int:
    return voxels.dim() if torch.is_tensor(voxels) else np.ndim(voxels)


def _normalised(cam: torch.Tensor) -> torch.Tensor:
    """Each sample's map divided by its maximum, clamped to [0, 1]; all zeros stay zeros."""
    top = cam.amax(dim=(2, 3, 4), keepdim=True)
    return torch.where(top > 0, cam / top.clamp_min(1e-30), torch.zeros_like(cam)).clamp_(0, 1)


class FastNetWithCam(nn.Module):
    """FastNet returning (logit, Grad-CAM at features.5 before upsampling), with the gradient
    through the head written out as forward ops (max-pool routing, ReLU mask, transposed conv,
    the global mean+max pool and the linear layer), so that an ONNX export carries the
    explanation and `check` needs no torch for it. Equal to `grad_cam(model, x,
    "features.5")` before its upsampling and normalisation (tests/test_gradcam.py).

    Works on a `fuse_for_inference` copy: the last conv then holds its BatchNorm."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from printability.models.inference import fuse_for_inference

        fused = fuse_for_inference(model)
        self.trunk = fused.features[:6]  # up to features.5, the Grad-CAM layer
        self.last = fused.features[7][0]  # the fused conv after the 2x max-pool
        self.linear = fused.head[2]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.trunk(x)  # (B, C, n, n, n), n = N / 8
        b, c, n = a.shape[0], a.shape[1], a.shape[2]
        blocks = a.reshape(b, c, n // 2, 2, n // 2, 2, n // 2, 2)
        blocks = blocks.permute(0, 1, 2, 4, 6, 3, 5, 7).reshape(b, c, n // 2, n // 2, n // 2, 8)
        pooled, winner = blocks.max(dim=-1)  # max-pool 2, and which of the 8 won
        z = self.last(pooled)
        f = torch.relu(z)
        s = f.shape[2] * f.shape[3] * f.shape[4]
        flat = f.reshape(b, f.shape[1], s)
        top, where = flat.max(dim=-1)
        logit = self.linear(torch.cat([flat.mean(dim=-1), top], dim=1)).squeeze(1)
        # d(-logit)/d f: the mean spreads its weight evenly, the max sends it to the argmax
        w = -self.linear.weight[0]
        w_mean, w_max = w[: f.shape[1]], w[f.shape[1] :]
        at_max = (torch.arange(s, device=x.device)[None, None] == where[..., None]).float()
        grad_f = w_mean[None, :, None] / s + at_max * w_max[None, :, None]
        grad_z = grad_f.reshape(f.shape) * (z > 0).float()
        grad_pooled = nn.functional.conv_transpose3d(
            grad_z, self.last.weight, padding=self.last.padding
        )
        won = (torch.arange(8, device=x.device) == winner[..., None]).float()
        grad_blocks = won * grad_pooled[..., None]
        grad_a = grad_blocks.reshape(b, c, n // 2, n // 2, n // 2, 2, 2, 2)
        grad_a = grad_a.permute(0, 1, 2, 5, 3, 6, 4, 7).reshape(a.shape)
        weights = grad_a.mean(dim=(2, 3, 4), keepdim=True)
        cam = torch.relu((weights * a).sum(dim=1))  # (B, n, n, n)
        return logit, cam


class DistNetWithCam(nn.Module):
    """DistNet returning (logit, Grad-CAM of its last block before upsampling), for an ONNX
    export that explains without torch. The last block f (B, C, n, n, n) feeds the global
    mean+max pool and the linear layer directly, so d(-logit)/d f_c is -(w_mean_c / s +
    w_max_c at the channel's maximum) (s = n^3 cells; max's gradient sums to one even over
    ties), whose mean over the cells is -(w_mean_c + w_max_c) / s: Grad-CAM is then
    relu(sum_c -(w_mean_c + w_max_c) / s * f_c), equal to `grad_cam(model, x,
    model.features[-1])` before upsampling (tests/test_export.py).

    Works on a `fuse_for_inference` copy (BatchNorm folded into the convs)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from printability.models.inference import fuse_for_inference

        fused = fuse_for_inference(model)
        self.features = fused.features
        self.linear = fused.head[2]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        c = f.shape[1]
        flat = f.flatten(2)
        logit = self.linear(torch.cat([flat.mean(dim=-1), flat.amax(dim=-1)], dim=1)).squeeze(1)
        w = self.linear.weight[0]
        weights = -(w[:c] + w[c:]) / flat.shape[-1]
        cam = torch.relu((weights[None, :, None, None, None] * f).sum(dim=1))
        return logit, cam
