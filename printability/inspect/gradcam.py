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

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from printability.data.inputs import LEGACY_INPUT, model_input
from printability.inspect.heat import PEAK_TOP_FRACTION, peak  # noqa: F401 (this module's API)
from printability.models.registry import spec_of


def default_layer(model: nn.Module, input_name: str = LEGACY_INPUT) -> nn.Module:
    """The Grad-CAM target layer of a registry model on input `input_name`, as the registry
    records it (ModelSpec.cam_layers): the last block whose output is still at least N/8 cells
    wide for an N^3 grid, so that a defect a few voxels across is not smeared over a large part
    of the part. Block outputs (after BatchNorm and ReLU, or the residual sum) rather than raw
    conv outputs, as in the original Grad-CAM; bench/explain.py compares the layers.

    The registered layer is the same at every N. A model not built by `create_model` has no
    registry entry: pass `layer=` to `grad_cam` instead."""
    layers = spec_of(model).cam_layers
    if input_name not in layers:
        raise ValueError(f"{type(model).__name__}: no Grad-CAM layer registered for {input_name!r}")
    return model.get_submodule(layers[input_name])


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
    """3D Grad-CAM of the evidence against printability (score -logit), upsampled to the grid.

    voxels: (N, N, N) occupancy (bool or float, numpy or torch), or a batch (B, N, N, N) /
    (B, 1, N, N, N) for one map per sample. input_name: the input the model reads
    (data/inputs.py), made from the grids unless `inputs` gives it ((B, C, n, n, n), e.g. cut
    from a larger part's input). layer: a module or dotted name; default `default_layer`. A
    list of layers gives the product of their normalised maps, a fine layer's sharp map gated
    by a coarse layer's reliable one (bench/explain.py compares them). Returns float32 in
    [0, 1], (N, N, N) or (B, N, N, N).

    Runs in fp32 eval mode with gradients on whatever the caller's context, and restores the
    train/eval mode. Hooks keep the layers' outputs, and torch.autograd.grad differentiates
    with respect to those only: no parameter's .grad is touched."""
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
        layer = default_layer(model, input_name)
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
