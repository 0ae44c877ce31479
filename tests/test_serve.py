"""`printability serve`: the page and the JSON endpoint through Flask's test client, on the
example boxes whose answers are known; bad files, bad options and oversize uploads."""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

import pytest

from printability.inspect.samples import write_examples
from printability.serve import create_app


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, Path]:
    return {p.stem: p for p in write_examples(tmp_path_factory.mktemp("examples"))}


@pytest.fixture(scope="module")
def client():
    return create_app(max_upload_mb=5).test_client()


def _post(client, url: str, name: str, data: bytes, **form: str):
    fields = {"mesh": (io.BytesIO(data), name), **form}
    return client.post(url, data=fields, content_type="multipart/form-data")


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("printability-serve-*")}


def test_the_form_lists_every_process(client):
    page = client.get("/").get_data(as_text=True)
    assert "<form" in page and "name='mesh'" in page
    assert all(f"value='{name}'" in page for name in ("fdm", "sla", "sls", "mjf", "metal"))


def test_the_api_gives_check_json_for_good_and_bad_parts(client, examples):
    before = _leftovers()
    good = _post(client, "/api/check", "plain_box.stl", examples["plain_box"].read_bytes())
    bad = _post(client, "/api/check", "thin.stl", examples["thin_wall"].read_bytes())
    assert good.status_code == 200 and bad.status_code == 200
    (row,) = json.loads(good.get_data())
    assert row["file"] == "plain_box.stl" and row["printable"] is True
    (row,) = json.loads(bad.get_data())
    assert row["printable"] is False and row["min_wall_mm"] < row["wall_limit_mm"] == 1.2
    assert _leftovers() == before  # every upload's folder is gone


def test_the_form_fields_set_the_process_limits(client, examples):
    data = examples["narrow_hole"].read_bytes()
    (fdm,) = json.loads(_post(client, "/api/check", "n.stl", data).get_data())
    (own,) = json.loads(
        _post(client, "/api/check", "n.stl", data, process="sla", min_hole="3").get_data()
    )
    assert fdm["hole_limit_mm"] == 2.0 and own["process"] == "sla" and own["hole_limit_mm"] == 3.0
    assert not own["process_ok"]  # its 2.4 mm hole is under your 3 mm


def test_a_bad_file_gets_the_one_line_error_as_a_400(client):
    empty = _post(client, "/api/check", "part.stl", b"")
    assert empty.status_code == 400
    (row,) = json.loads(empty.get_data())
    assert row["error"] == "part.stl: empty file"
    text = _post(client, "/api/check", "notes.txt", b"hello")
    assert text.status_code == 400 and "unsupported format" in json.loads(text.get_data())["error"]
    wall = _post(client, "/api/check", "p.stl", b"solid x", min_wall="thick")
    assert wall.status_code == 400 and "must be a number above 0" in wall.get_data(as_text=True)
    page = _post(client, "/", "part.stl", b"")
    assert page.status_code == 400 and "error: part.stl: empty file" in page.get_data(as_text=True)


def test_an_oversize_upload_is_refused_with_413():
    small = create_app(max_upload_mb=0.01).test_client()  # about 10 KB
    response = _post(small, "/api/check", "big.stl", b"solid big\n" + b" " * 20_000)
    assert response.status_code == 413
    assert json.loads(response.get_data()) == {"error": "upload over the 0.01 MB limit"}
    page = _post(small, "/", "big.stl", b" " * 20_000)
    assert page.status_code == 413 and "upload over the 0.01 MB limit" in page.get_data(
        as_text=True
    )


def test_the_page_shows_the_verdict_and_the_report_pictures(client, examples):
    page = _post(client, "/", "thin_wall.stl", examples["thin_wall"].read_bytes())
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "thin_wall.stl: NOT printable" in text
    assert "Failed:" in text and "wall 1.0" in text and text.count("<img") == 2
    assert "<script src='plotly.min.js'></script>" in text and '"type":"mesh3d"' in text
    script = client.get("/plotly.min.js")  # the 3D view's script, from this server: offline
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert len(script.get_data()) > 1_000_000 and b"plotly" in script.get_data()[:2000].lower()


def test_the_page_keeps_the_choices_sent_and_shows_a_table_that_wraps(client, examples):
    data = examples["narrow_hole"].read_bytes()
    text = _post(client, "/", "n.stl", data, process="sla", min_hole="3", units="mm").get_data(
        as_text=True
    )
    assert "<option value='sla' selected>" in text and "<option value='mm' selected>" in text
    assert "name='min_hole' size='5' placeholder='process' value='3'" in text
    assert "<pre>" not in text and "<td class='file'>n.stl</td>" in text
    assert re.search(r"<li>hole diameter 2\.\d\d mm &lt; 3\.0 mm</li>", text)  # your limit
    assert text.index("Limits: thinnest wall 0.5 mm, smallest hole diameter 3.0 mm") < text.index(
        "<table>"
    )


def test_the_api_gives_exactly_the_rows_check_json_gives(client, examples):
    from printability.inspect.check import Checker

    (api,) = json.loads(
        _post(client, "/api/check", "thin.stl", examples["thin_wall"].read_bytes()).get_data()
    )
    cli = Checker().check_file(examples["thin_wall"]).to_dict()
    for row in (api, cli):
        row.pop("file"), row.pop("seconds")
    assert api == cli and api["suspect_mm"] is not None  # the Grad-CAM place too


def test_a_name_in_any_script_is_checked_and_shown_as_given(client, examples):
    data = examples["plain_box"].read_bytes()
    (row,) = json.loads(_post(client, "/api/check", "零件 v2.STL", data).get_data())
    assert row["file"] == "零件 v2.STL" and row["printable"] is True
    page = _post(client, "/", "<img src=x onerror=alert(1)>.stl", data).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;.stl: printable" in page and "<img src=x" not in page
    (row,) = json.loads(_post(client, "/api/check", "../../etc/x.stl", data).get_data())
    assert row["file"] == "x.stl"  # only the name: the upload is saved under one of ours


def test_a_drawing_failure_keeps_the_verdict_and_is_no_400(client, examples, monkeypatch):
    import printability.inspect.viewer as viewer

    def broken(row):
        raise ValueError("no picture today")

    monkeypatch.setattr(viewer, "interactive_view", broken)
    page = _post(client, "/", "thin.stl", examples["thin_wall"].read_bytes())
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "thin.stl: NOT printable" in text
    assert "The pictures could not be drawn: no picture today" in text


def test_the_server_listens_on_this_machine_only_unless_told():
    import inspect

    from printability import serve
    from printability.cli import _parser

    assert inspect.signature(serve.serve).parameters["host"].default == "127.0.0.1"
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port, args.max_upload_mb) == (
        "127.0.0.1", serve.DEFAULT_PORT, serve.MAX_UPLOAD_MB,
    )  # fmt: skip
