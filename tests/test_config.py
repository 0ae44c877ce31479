"""Configs: presets scale with the grid, and configs survive a trip through JSON."""

from __future__ import annotations

import json

import pytest

from printability.config import GenerateConfig, TrainConfig, VoxelConfig, get_preset


def test_seed_preset_at_its_own_grid_and_scaled():
    seed = get_preset("seed2021")
    at64, at128, at32 = (seed.at_resolution(n) for n in (64, 128, 32))
    assert (at64.r_p, at64.r_np, at64.b_p, at64.b_np) == (6, 3, 4, 2)
    assert (at128.r_p, at128.r_np, at128.b_p, at128.b_np) == (12, 6, 8, 4)
    # coarse grids keep the classes apart: floors instead of 1-voxel thresholds
    assert at32.r_np == 1.5 and at32.b_np == 1.5 and at32.r_p >= at32.r_np + 1.5
    assert at32.b_p >= at32.b_np + 1


def test_generate_config_round_trips_through_json():
    config = GenerateConfig(count=12, seed=3, max_holes=2, voxel=VoxelConfig(48, pitch_mm=1.5))
    again = GenerateConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    with pytest.raises(ValueError, match="unknown config keys"):
        GenerateConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_train_config_round_trips_and_rejects_bad_values():
    config = TrainConfig(model="resnet_small", epochs=3, optimizer="sgd")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({"modle": "fastnet"})
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0)


def test_train_options_override_the_config_file(tmp_path):
    from printability.cli import _parser, train_config_from_args

    config = tmp_path / "c.json"
    config.write_text(json.dumps({"patience": 2, "epochs": 7}))
    args = _parser().parse_args(
        ["train", "--data", "d", "--out", "o", "--config", str(config), "--patience", "30"]
    )
    assert (train_config_from_args(args).patience, train_config_from_args(args).epochs) == (30, 7)


@pytest.mark.parametrize("bad", [dict(resolution=8), dict(resolution=300), dict(pitch_mm=0.0)])
def test_voxel_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        VoxelConfig(**bad)


def _train_config(*options: str) -> TrainConfig:
    from printability.cli import _parser, train_config_from_args

    args = _parser().parse_args(["train", "--data", "d", "--out", "o", *options])
    return train_config_from_args(args)


def test_train_options_build_the_config_their_fields_say():
    assert _train_config() == TrainConfig()
    given = ["--model", "fastnet", "--input", "occupancy", "--location-weight", "0", "--epochs",
             "3", "--batch-size", "8", "--lr", "3e-3", "--optimizer", "sgd", "--width", "0.5",
             "--precision", "fp32", "--workers", "0", "--seed", "5", "--max-train-samples", "16",
             "--patience", "4", "--select", "val_f1", "--no-augment"]  # fmt: skip
    assert _train_config(*given) == TrainConfig(
        model="fastnet", input="occupancy", location_weight=0.0, epochs=3, batch_size=8,
        lr=3e-3, optimizer="sgd", width=0.5, precision="fp32", num_workers=0, seed=5,
        max_train_samples=16, patience=4, select="val_f1", augment=False,
    )  # fmt: skip
    more = ["--dropout", "0.1", "--momentum", "0.8", "--weight-decay", "0.01", "--warmup-epochs",
            "1", "--no-channels-last", "--augment"]  # fmt: skip
    assert _train_config(*more) == TrainConfig(
        dropout=0.1, momentum=0.8, weight_decay=0.01, warmup_epochs=1.0, channels_last=False
    )


def test_train_help_lists_every_config_field_with_its_default(capsys):
    from dataclasses import fields

    from printability.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for f in fields(TrainConfig):
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        assert flag in text, flag
        help_text = " ".join(f.metadata["help"].split())
        assert help_text in text, f.name
        after = text[text.index(help_text) :]
        assert "default: " in after[: len(help_text) + 120], f.name
    assert "--no-augment" in text and "--no-channels-last" in text
    assert "(default: 0.002)" in text and "--workers WORKERS" in text


def test_bad_train_options_are_usage_errors(capsys):
    for bad in (["--model", "nonet"], ["--optimizer", "rmsprop"], ["--epochs", "two"]):
        with pytest.raises(SystemExit) as info:
            _train_config(*bad)
        assert info.value.code == 2
    assert "invalid choice: 'nonet'" in capsys.readouterr().err


def test_tune_config_checks_its_counts():
    from printability.config import TuneConfig

    assert TuneConfig(models=["a", "b"]).models == ("a", "b")
    with pytest.raises(ValueError, match="trials and epochs must be >= 1"):
        TuneConfig(trials=0)
