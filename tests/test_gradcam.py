"""3D Grad-CAM: shape and range for every registry model, no hooks left behind, and the peak
of a hand-weighted hole detector on a synthetic hole."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from printability.data.inputs import get_input
from printability.inspect.gradcam import default_layer, grad_cam, peak
from printability.models import MODELS, create_model

N = 32


def box_with_tunnel(n: int = N, at: tuple[int, int] = (9, 21)) -> np.ndarray:
    """A solid box with a one-voxel tunnel along axis 2 through (x, y) = `at`, off-centre."""
    grid = np.zeros((n, n, n), bool)
    grid[3:29, 3:29, 6:26] = True
    grid[at[0], at[1], :] = False
    return grid


class TunnelNet(nn.Module):
    """A hand-weighted network whose logit says "not printable" for an enclosed tunnel.

    Channel 0 of a 3^3 conv fires only at an empty voxel with at least 21 solid neighbours (a
    tunnel voxel has 24; outside a box at most 9); channel 1 fires at every solid voxel. After a
    2x max-pool and a 1x1 conv, a global max pool and logit = ch1 - ch0: the tunnel is the
    evidence against printability, solid material the evidence for it. A Grad-CAM of +logit
    instead of -logit would light up the solid and miss the tunnel."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv3d(1, 2, 3, padding=1)
        pool_mix = nn.Conv3d(2, 2, 1)
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0] = 1.0
            conv.weight[0, 0, 1, 1, 1] = -26.0
            conv.weight[1, 0, 1, 1, 1] = 1.0
            conv.bias.copy_(torch.tensor([-20.0, 0.0]))
            pool_mix.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1, 1))
            pool_mix.bias.zero_()
        self.features = nn.Sequential(conv, nn.ReLU(), nn.MaxPool3d(2), pool_mix, nn.ReLU())
        self.head = nn.Linear(2, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0, 1.0]]))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).amax(dim=(2, 3, 4))).squeeze(1)


def hooks_left(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.mark.parametrize("name", list(MODELS))
def test_shape_range_and_no_hooks_left(name):
    torch.manual_seed(0)
    model = create_model(name, width=0.25).train()
    heat = grad_cam(model, box_with_tunnel(), input_name=MODELS[name].input)
    assert heat.shape == (N, N, N) and heat.dtype == np.float32
    assert np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1
    assert heat.max() in (0.0, 1.0)  # normalised by its maximum (all zeros: no evidence)
    assert hooks_left(model) == 0
    assert model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())  # weights' .grad untouched
    layer = default_layer(model, MODELS[name].input)
    assert any(isinstance(m, nn.Conv3d) for m in layer.modules())


def test_peak_on_a_synthetic_hole():
    model = TunnelNet()
    voxels = box_with_tunnel(at=(9, 21))
    assert model(torch.from_numpy(voxels).float()[None, None]).item() < 0  # sees the defect
    heat = grad_cam(model, voxels, layer="features")  # the pooled 1x1-conv block (16^3)
    x, y, z = peak(heat)
    assert np.hypot(x - 9, y - 21) <= 2.0, (x, y, z)
    assert 6 <= z <= 25  # along the tunnel, inside the part
    ax, ay, _ = peak(heat, top_fraction=0)  # argmax
    assert np.hypot(ax - 9, ay - 21) <= 2.0
    # the same part without the tunnel: no evidence of a defect, an all-zero map
    assert grad_cam(model, box_with_tunnel(at=(0, 0)), layer="features").max() == 0.0


def test_batch_tensor_input_and_named_layer():
    model = TunnelNet()
    grids = np.stack([box_with_tunnel(at=(9, 21)), box_with_tunnel(at=(22, 8))])
    heat = grad_cam(model, torch.from_numpy(grids), layer="features.3")
    assert heat.shape == (2, N, N, N)
    for h, (cx, cy) in zip(heat, [(9, 21), (22, 8)], strict=True):
        x, y, _ = peak(h)
        assert np.hypot(x - cx, y - cy) <= 2.0
    product = grad_cam(model, grids[0], ["features.1", "features.3"])  # a list: product of maps
    assert product.shape == (N, N, N) and product.max() == 1.0
    assert np.hypot(*(np.array(peak(product, top_fraction=0)[:2]) - (9, 21))) <= 2.0
    with pytest.raises(ValueError, match="voxels must be"):
        grad_cam(model, np.zeros((4, 4)))


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("input_name", ["distance_quarter", "occupancy"])
def test_registered_layer_is_the_last_block_at_an_eighth_of_the_grid(name, input_name):
    # the registry's Grad-CAM layer (ModelSpec.cam_layers) gives a map at least N/8 wide, and every
    # conv that runs after it is coarser
    resolution = 64 if name == "fastnet" else 32  # fastnet on distance_quarter needs N >= 64
    spec = get_input(input_name)
    model = create_model(name, width=0.25, in_channels=spec.channels).eval()
    layer = default_layer(model, input_name)
    assert layer is model.get_submodule(MODELS[name].cam_layers[input_name])
    fired: list[tuple[nn.Module, tuple[int, ...]]] = []
    watched = [m for m in model.modules() if isinstance(m, nn.Conv3d)] + [layer]
    handles = [
        m.register_forward_hook(lambda m, _i, out: fired.append((m, tuple(out.shape))))
        for m in watched
    ]
    with torch.no_grad():
        model(torch.zeros(1, *spec.shape(resolution)))
    for handle in handles:
        handle.remove()
    at = next(i for i, (m, _) in enumerate(fired) if m is layer)
    assert len(fired[at][1]) == 5 and min(fired[at][1][2:]) >= resolution // 8
    assert all(min(shape[2:]) < resolution // 8 for _, shape in fired[at + 1 :])


def test_default_layer_needs_a_registry_model():
    with pytest.raises(ValueError, match="not built by create_model"):
        default_layer(TunnelNet())


def test_peak_rules():
    heat = np.zeros((20, 20, 20), np.float32)
    heat[4:7, 10:13, 15:18] = 0.5
    heat[5, 11, 16] = 1.0
    assert peak(heat, top_fraction=0) == (5.0, 11.0, 16.0)
    assert peak(heat) == pytest.approx((5.0, 11.0, 16.0))  # centroid of a symmetric blob
    assert peak(np.zeros((8, 8, 8))) == (3.5, 3.5, 3.5)  # no evidence: the centre
