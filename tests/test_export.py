"""ONNX export: onnxruntime's logits match torch's, for any batch size; metadata travels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from printability.cli import main
from printability.config import TrainConfig
from printability.data.inputs import get_input, model_input
from printability.models import MODELS, create_model
from printability.train.checkpoint import save_checkpoint

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from printability.inspect.export import export_onnx, feed_name, onnx_metadata  # noqa: E402
from printability.inspect.gradcam import grad_cam  # noqa: E402
from printability.inspect.heat import heat_from_cam  # noqa: E402

RESOLUTION = 32


def _checkpoint(path, name: str, width: float):
    torch.manual_seed(0)
    model = create_model(name, width=width)
    # non-trivial BatchNorm statistics, so that folding them is tested
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(-1.5, 1.5)
    data = {"resolution": RESOLUTION, "pitch_mm": None, "preset": "seed2021"}
    save_checkpoint(path, model, TrainConfig(model=name, width=width), data)
    return model.eval()


@pytest.mark.parametrize(
    ("name", "width"), [("distnet", 0.5), ("fastnet", 0.5), ("resnet_small", 1.0)]
)
def test_onnxruntime_matches_torch(tmp_path, name, width):
    model = _checkpoint(tmp_path / "model.pt", name, width)
    out = export_onnx(tmp_path / "model.pt", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,), (outp, *more) = session.get_inputs(), session.get_outputs()
    input_name = MODELS[name].input
    assert (inp.name, outp.name) == (feed_name(input_name), "logit")
    # FastNetWithCam, DistNetWithCam
    assert [o.name for o in more] == (["cam"] if name in ("distnet", "fastnet") else [])
    assert inp.shape[1:] == list(get_input(input_name).shape(RESOLUTION))
    assert isinstance(inp.shape[0], str) and isinstance(outp.shape[0], str)  # dynamic batch
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        grids = ndimage.binary_opening(rng.random((batch, *[RESOLUTION] * 3)) < 0.6)
        x = np.stack([model_input(g, input_name) for g in grids])
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        (got,) = session.run(["logit"], {inp.name: x})
        assert got.shape == (batch,)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
        if more:  # the Grad-CAM it carries is torch's
            (cams,) = session.run(["cam"], {inp.name: x})
            heat = [heat_from_cam(cam, RESOLUTION) for cam in cams]
            layer = "features.5" if name == "fastnet" else model.features[-1]
            expected_heat = grad_cam(model, grids, layer, input_name=input_name)
            np.testing.assert_allclose(np.stack(heat), expected_heat, rtol=0, atol=1e-4)
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert "BatchNormalization" not in ops or name == "fastnet"  # folded (FastNet: after a max)
    assert "ScatterND" not in ops  # FastNet's phase kernels are constants


def test_metadata_holds_preprocessing(tmp_path):
    _checkpoint(tmp_path / "model.pt", "fastnet", 0.5)
    assert main(["export", "--checkpoint", str(tmp_path / "model.pt"),
                 "--onnx", str(tmp_path / "sub" / "m.onnx")]) == 0  # fmt: skip
    meta = onnx_metadata(tmp_path / "sub" / "m.onnx")
    assert meta["model"] == "fastnet"
    assert meta["resolution"] == RESOLUTION
    assert meta["data"] == {"resolution": RESOLUTION, "pitch_mm": None, "preset": "seed2021"}
    assert meta["train_config"]["width"] == 0.5
    assert meta["model_kwargs"] == {"width": 0.5, "in_channels": 1}
    assert meta["model_input"] == "occupancy"


def test_cli_bad_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    not_a_checkpoint = tmp_path / "junk.pt"
    not_a_checkpoint.write_text("hello")
    for path in (tmp_path / "missing.pt", not_a_checkpoint):
        code = main(["export", "--checkpoint", str(path), "--onnx", str(tmp_path / "m.onnx")])
        assert code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("printability: error: ")
        assert str(path) in lines[0]
    checkpoint = tmp_path / "model.pt"
    _checkpoint(checkpoint, "fastnet", 0.5)
    assert main(["export", "--checkpoint", str(checkpoint), "--onnx", str(tmp_path / "m.onnx"),
                 "--opset", "99"]) == 2  # fmt: skip
    assert "opset 99" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt", "model.pt"]  # no leftovers


def test_fastnet_at_a_grid_not_a_multiple_of_16_exports_without_the_cam(tmp_path):
    torch.manual_seed(0)
    model = create_model("fastnet", width=0.5).eval()
    data = {"resolution": 40, "pitch_mm": None, "preset": "seed2021"}
    save_checkpoint(tmp_path / "m.pt", model, TrainConfig(model="fastnet", width=0.5), data)
    out = export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")  # features.5 is 5^3: odd
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logit"]
    x = (np.random.default_rng(0).random((2, 1, 40, 40, 40)) < 0.4).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"voxels": x})[0], expected, atol=1e-4)
