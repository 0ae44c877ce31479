"""Every registered network: one logit per sample at any cubic size, seed-sized, and learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from printability.data.inputs import get_input
from printability.models import MODELS, count_parameters, create_model


def inputs_for(name: str, batch: int, resolution: int) -> torch.Tensor:
    """A random batch of what model `name` reads from `resolution`^3 grids."""
    return torch.rand(batch, *get_input(MODELS[name].input).shape(resolution)).round()


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("resolution", [32, 64])
def test_forward_gives_one_logit_per_sample(name, resolution):
    torch.manual_seed(0)
    model = create_model(name).eval()
    batch = 2 if resolution == 32 else 1
    with torch.no_grad():
        out = model(inputs_for(name, batch, resolution))
    assert out.shape == (batch,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_is_the_head_of_the_features(name):
    # the contract: forward(x) = forward_head(forward_features(x)), features a 5D map; a
    # location head reads the map forward_features(x, with_located=True) adds
    torch.manual_seed(0)
    model = create_model(name, width=0.25).eval()
    x = inputs_for(name, 2, 32)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.dim() == 5 and features.shape[0] == 2
        assert torch.equal(model(x), model.forward_head(features))
        if MODELS[name].locates:
            logits, cells = model(x, cells=True)
            same_features, located = model.forward_features(x, with_located=True)
            assert torch.equal(same_features, features)
            assert torch.equal(model.forward_cells(located), cells)
            assert torch.equal(logits, model.forward_head(features))
        else:
            with pytest.raises(ValueError, match="no defect-location head"):
                model(x, cells=True)


def test_a_model_knows_its_registry_entry_outside_its_weights():
    from printability.models import spec_of

    model = create_model("inception_v3", width=0.25)
    assert spec_of(model) is MODELS["inception_v3"]
    assert not any("registry_name" in key for key in model.state_dict())
    with pytest.raises(ValueError, match="not built by create_model"):
        spec_of(torch.nn.Linear(2, 1))


@pytest.mark.parametrize("name", [n for n, spec in MODELS.items() if spec.seed_parameters])
def test_parameter_count_within_ten_percent_of_the_seed(name):
    count = count_parameters(create_model(name, in_channels=1))  # the study's occupancy grid
    assert abs(count - MODELS[name].seed_parameters) <= 0.1 * MODELS[name].seed_parameters


def test_no_sigmoid_anywhere():
    for name in MODELS:
        assert not any(isinstance(m, torch.nn.Sigmoid) for m in create_model(name).modules())


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("alexnet")


def test_width_scales_the_default_model():
    assert count_parameters(create_model("fastnet", width=0.5)) < count_parameters(
        create_model("fastnet")
    )


def test_default_model_learns_a_simple_rule():
    # a few steps on "is there a hole through the block" must lower the loss
    torch.manual_seed(0)
    x = torch.zeros(16, 1, 16, 16, 16)
    x[:, :, 3:13, 3:13, 3:13] = 1
    x[8:, :, 7:9, 7:9, :] = 0  # a 2x2 through hole in half of them
    y = torch.cat([torch.ones(8), torch.zeros(8)])
    model = create_model("fastnet")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_models_command_lists_every_model(capsys):
    from printability.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MODELS)


def test_default_model_stem_runs_in_fp32_under_bf16_autocast():
    # oneDNN's single-input-channel conv is faster (and exact) in fp32; the rest runs in bf16
    model = create_model("fastnet").eval()
    x = (torch.rand(2, 1, 16, 16, 16) > 0.5).float()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        stem_out = model.features[0](x)
        body_out = model.features[1](stem_out)
    assert stem_out.dtype == torch.float32 and stem_out.shape == (2, 4, 8, 8, 8)
    assert body_out.dtype == torch.bfloat16


@pytest.mark.parametrize("size", [8, 9, 16])
def test_fused_stem_equals_conv_then_max_pool(size):
    # the stem's stride-2 phase-kernel conv must give exactly max_pool3d(conv3d(x), 2)
    from torch.nn import functional as F

    from printability.models.fastnet import conv3_maxpool2

    torch.manual_seed(size)
    x = (torch.rand(3, 1, size, size, size) > 0.5).float()
    weight = torch.randn(4, 1, 3, 3, 3, requires_grad=True)
    expected = F.max_pool3d(F.conv3d(x, weight, padding=1), 2)
    got = conv3_maxpool2(x, weight)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # the inference path (amax) and a channels_last input
        channels_last = conv3_maxpool2(x.to(memory_format=torch.channels_last_3d), weight)
    torch.testing.assert_close(channels_last, expected.detach(), rtol=1e-5, atol=1e-5)
    got.sum().backward()  # the gradient reaches the 3^3 kernel the checkpoint stores
    assert (
        weight.grad is not None
        and torch.isfinite(weight.grad).all()
        and weight.grad.abs().sum() > 0
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fusing_batch_norm_keeps_the_outputs(name):
    from printability.models.inference import fuse_for_inference

    torch.manual_seed(0)
    model = create_model(name).eval()
    for module in model.modules():  # non-trivial statistics, so a wrong fold shows
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(-1.5, 1.5)
    fused = fuse_for_inference(model)

    def norms(net):
        return sum(isinstance(m, torch.nn.BatchNorm3d) for m in net.modules())

    assert norms(fused) < norms(model)  # something was folded
    x = inputs_for(name, 2, 32)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=1e-4, atol=1e-4)
    assert norms(model) == norms(create_model(name))  # the input model is left unchanged


def test_stem_gives_the_same_numbers_in_training_and_inference():
    from printability.models.fastnet import FullResolutionStem

    torch.manual_seed(1)
    stem = FullResolutionStem(4).eval()  # running statistics, so only the path differs
    x = (torch.rand(2, 1, 12, 12, 12) > 0.5).float()
    with_grad = stem(x)  # conv + max_pool3d
    with torch.no_grad():
        without = stem(x)  # phase kernels + max
    torch.testing.assert_close(with_grad.detach(), without, rtol=1e-5, atol=1e-5)


SEED_NETWORKS = ["vanilla3dcnn", "resnet_small", "inception_v1", "inception_v3"]


@pytest.mark.parametrize("name", SEED_NETWORKS)
def test_seed_networks_read_the_default_input_and_learn_from_it(name):
    # the study's four read what the default model reads; a few steps tell a tunnel from none
    from printability.data.inputs import model_input

    assert MODELS[name].input == MODELS["distnet"].input == "distance_quarter"
    torch.manual_seed(0)
    grids = np.zeros((8, 32, 32, 32), bool)
    grids[:, 6:26, 6:26, 8:24] = True
    grids[4:, 14:17, 14:17, :] = False  # a 3x3 tunnel through half of them
    x = torch.from_numpy(np.stack([model_input(g, "distance_quarter") for g in grids]))
    y = torch.tensor([1.0] * 4 + [0.0] * 4)
    model = create_model(name, dropout=0.0)
    assert model(x).shape == (8,)  # 8^3 inputs: every pooling stage still has a cell
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_seed_networks_bench_marks_a_network_stuck_on_one_class():
    import importlib.util
    import types
    from pathlib import Path

    path = Path(__file__).parents[1] / "bench" / "seed_networks.py"
    spec = importlib.util.spec_from_file_location("seed_networks", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = types.SimpleNamespace(
        input=None, epochs=None, seed=0, max_train_samples=None, batch_size=None, workers=None
    )
    run = {"parameters": 1000, "samples_per_second": 50.0, "epochs_run": 12, "train_seconds": 9.0}
    scores = {"accuracy": 0.5, "f1": 0.667, "roc_auc": 0.5, "predicts_one_class": "printable"}
    learned = {"accuracy": 0.95, "f1": 0.95, "roc_auc": 0.99, "predicts_one_class": None}
    report = {"models": {"resnet_small": scores, "inception_v1": learned}}
    rows = bench.table(args, {"resnet_small": run, "inception_v1": run}, report)
    assert "| yes: says printable |" in rows[2] and rows[2].startswith("| resnet_small |")
    assert "| no |" in rows[3] and "val accuracy 0.85" in rows[3]  # the study's figure beside
    assert "| distance_quarter |" in rows[3]


def test_large_kernels_start_centre_weighted_with_the_default_spread():
    from printability.models.layers import local_init_

    torch.manual_seed(0)
    big, small = torch.nn.Conv3d(4, 8, 9), torch.nn.Conv3d(4, 8, 3)
    spread, small_before = big.weight.std().item(), small.weight.clone()
    local_init_(torch.nn.Sequential(big, small))
    weight = big.weight.detach().abs()
    assert weight[..., 4, 4, 4].mean() > 20 * weight[..., 0, 0, 0].mean()  # centre, corner
    assert big.weight.std().item() == pytest.approx(spread, rel=1e-5)
    assert torch.equal(small.weight, small_before)  # 3^3 kernels are left as they are
    first = create_model("vanilla3dcnn").features[0][0].weight.detach().abs()
    assert first[..., 4, 4, 4].mean() > 20 * first[..., 0, 0, 0].mean()  # the study's four


def test_convs_with_a_large_fan_in_train_at_a_scaled_learning_rate():
    from printability.train.loop import _param_groups

    model = create_model("vanilla3dcnn")  # 21 input channels: first conv 21 * 9^3 inputs
    groups = _param_groups(model, 1e-3, MODELS["vanilla3dcnn"].lr_fan_in)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert len(lr_of) == len(list(model.parameters()))  # every parameter in exactly one group
    first, last = model.features[0][0].weight, model.features[6][0].weight  # 9^3, 3^3 x 96
    assert lr_of[id(first)] == pytest.approx(1e-3 * 864 / (21 * 9**3))
    assert lr_of[id(last)] == pytest.approx(1e-3 * 864 / (96 * 27))
    assert lr_of[id(model.head[2].weight)] == 1e-3  # not a conv
    distnet = _param_groups(create_model("distnet"), 1e-3, MODELS["distnet"].lr_fan_in)
    assert len(distnet) == 1 and distnet[0]["lr"] == 1e-3  # the default model: one rate
