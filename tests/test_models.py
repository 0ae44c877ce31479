"""Every registered network: one logit per sample at any cubic size, seed-sized, and learning."""

from __future__ import annotations

import pytest
import torch

from printability.models import MODELS, count_parameters, create_model


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("resolution", [32, 64])
def test_forward_gives_one_logit_per_sample(name, resolution):
    torch.manual_seed(0)
    model = create_model(name).eval()
    batch = 2 if resolution == 32 else 1
    with torch.no_grad():
        out = model(torch.rand(batch, 1, resolution, resolution, resolution).round())
    assert out.shape == (batch,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", [n for n, spec in MODELS.items() if spec.seed_parameters])
def test_parameter_count_within_ten_percent_of_the_seed(name):
    count = count_parameters(create_model(name))
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
