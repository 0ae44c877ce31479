"""`printability serve`: a local web page to check a part without a terminal, and the same JSON as
`check --json` at POST /api/check for scripts.

Built on Flask (pinned through MLflow); the page's 3D view is Plotly's, whose script the
server hands out from the installed package, so the page works offline. The server binds to
127.0.0.1 unless told otherwise, refuses uploads over `max_upload_mb` with a 413, answers a bad
file with the CLI's one-line error as a 400, and reads each upload from a temporary folder that
is removed when the request ends.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from printability.config import UNIT_CHOICES
from printability.geometry.mesh_io import MESH_SUFFIXES, load_and_repair
from printability.inspect.check import Checker, PartCheck, to_json
from printability.inspect.processes import PROCESSES, get_process, with_limits

DEFAULT_PORT = 8765
MAX_UPLOAD_MB = 100.0


def create_app(*, max_upload_mb: float = MAX_UPLOAD_MB) -> Flask:
    """The web app: GET / (the form), POST / (the form with the verdict, an interactive 3D view
    and the report's pictures), POST /api/check (JSON, a list of one `check --json` row) and
    GET /plotly.min.js (the 3D view's script, from the installed plotly package)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 1024 * 1024)

    @app.get("/")
    def form() -> Response:
        return Response(_page(), mimetype="text/html")

    @app.get("/plotly.min.js")
    def plotly() -> Response:
        from printability.inspect.viewer import plotly_js

        response = Response(plotly_js(), mimetype="text/javascript")
        response.cache_control.max_age = 86400  # the same file until the package changes
        return response

    @app.post("/")
    def check_page() -> tuple[Response, int]:
        row, report = _check_upload(with_report=True)
        status = 400 if row.error else 200
        return Response(_page(row, report, chosen=request.form), mimetype="text/html"), status

    @app.post("/api/check")
    def check_api() -> tuple[Response, int]:
        row, _ = _check_upload(with_report=False)
        return Response(to_json([row]), mimetype="application/json"), 400 if row.error else 200

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: HTTPException) -> tuple[Response, int]:
        message = f"upload over the {max_upload_mb:g} MB limit"
        return _error_response(message), 413

    @app.errorhandler(InvalidRequest)
    def bad_request(error: InvalidRequest) -> tuple[Response, int]:
        return _error_response(str(error)), 400

    return app


def serve(
    *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, max_upload_mb: float = MAX_UPLOAD_MB
) -> None:
    """Run the page until interrupted: Flask's own server, one request at a time, since the
    cached Checkers keep per-batch state (one user, on this machine)."""
    create_app(max_upload_mb=max_upload_mb).run(host=host, port=port, threaded=False)


class InvalidRequest(ValueError):
    """A request the page cannot check (no file, an unsupported format, a bad option): a 400
    with its one-line reason. Other errors are the server's own and stay 500s."""


def _check_upload(*, with_report: bool) -> tuple[PartCheck, str]:
    """Check the uploaded `mesh` file with the form's process, limits and units; returns its row
    and, when asked, the page's 3D view and report sections. The upload lives in a temporary
    folder, under a name of our own (any name the user gives is shown, never used as a path),
    that is removed before returning."""
    upload = request.files.get("mesh")
    if upload is None or not upload.filename:
        raise InvalidRequest("no mesh file in the request (form field 'mesh')")
    name = Path(upload.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InvalidRequest(f"{name}: unsupported format; use one of {', '.join(MESH_SUFFIXES)}")
    checker = _request_checker(keep_maps=with_report)
    with tempfile.TemporaryDirectory(prefix="printability-serve-") as folder:
        path = Path(folder) / f"part{suffix}"
        upload.save(path)
        row = checker.check_file(path)
        if with_report and row.error is None and row.mesh is None:  # kept for failures only
            row.mesh = load_and_repair(path, checker.units)
    row.file = name  # the name the user knows, not the temporary path
    if row.error:
        row.error = row.error.replace(str(path), name)
    return row, _pictures(row) if with_report else ""


def _pictures(row: PartCheck) -> str:
    """The 3D view and the report's sections; if drawing fails, a line saying so, so that the
    verdict already found is still shown."""
    from printability.inspect.report import part_sections
    from printability.inspect.viewer import interactive_view

    try:
        view = interactive_view(row)
        if view:
            view = f"<h3>The part in 3D</h3><script src='plotly.min.js'></script>{view}"
        return view + part_sections([row])
    except Exception as exc:  # a picture is not worth losing the verdict over
        logging.getLogger(__name__).exception("pictures of %s", row.file)
        return f"<p class='error'>The pictures could not be drawn: {escape(str(exc))}</p>"


def _request_checker(*, keep_maps: bool) -> Checker:
    """The Checker for the form's process, limits and units (InvalidRequest when one is bad)."""
    try:
        return _checker(
            request.form.get("process", "fdm"),
            _optional_mm(request.form.get("min_wall")),
            _optional_mm(request.form.get("min_hole")),
            request.form.get("units", "auto"),
            keep_maps,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc).splitlines()[0] if str(exc) else "bad option") from exc


@lru_cache(maxsize=8)
def _checker(
    process: str, min_wall: float | None, min_hole: float | None, units: str, keep_maps: bool
) -> Checker:
    """One Checker per setting (loading the model once), kept across requests; it explains
    verdicts as `check` does, so the API's JSON is `check --json`'s."""
    if units not in UNIT_CHOICES:
        raise ValueError(f"unknown units {units!r}; choose from {', '.join(UNIT_CHOICES)}")
    profile = with_limits(get_process(process), min_wall_mm=min_wall, min_hole_mm=min_hole)
    return Checker(process=profile, units=units, keep_maps=keep_maps)


def _optional_mm(text: str | None) -> float | None:
    """A form's size in mm: empty means the process's own; anything else must be above 0."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{text!r}: a size in mm must be a number above 0")
    return value


def _error_response(message: str) -> Response:
    """A one-line error: JSON for the API, the form with the message for the page."""
    if request.path.startswith("/api/"):
        return Response(json.dumps({"error": message}), mimetype="application/json")
    return Response(_page(error=message), mimetype="text/html")


def _page(
    row: PartCheck | None = None, report: str = "", error: str = "", chosen: Mapping | None = None
) -> str:
    """The form (showing the `chosen` process, limits and units), and below it the verdict
    table, the report's sections or an error."""
    from printability.inspect.report import STYLE, process_line, verdict_table

    chosen = chosen or {}
    result = ""
    if error or (row is not None and row.error):
        result = f"<p class='error'>error: {escape(error or row.error)}</p>"
    elif row is not None:
        verdict = "printable" if row.printable else "NOT printable"
        result = (
            f"<h2 id='verdict'>{escape(row.file)}: {verdict}</h2>"
            f"<p>{escape(process_line([row]))}</p>{verdict_table([row])}"
        )
        result += report
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>printability</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{STYLE}{FORM_STYLE}</style></head><body><h1>printability: check a part</h1>"
        "<form method='post' enctype='multipart/form-data'>"
        "<label class='drop' id='drop'>Drop a mesh file here, or choose one: "
        f"<input type='file' name='mesh' accept='{','.join(MESH_SUFFIXES)}' required></label>"
        f"<label>Process {_select('process', PROCESSES, chosen.get('process', 'fdm'))}</label>"
        f"<label>Min wall mm {_number('min_wall', chosen)}</label>"
        f"<label>Min hole mm {_number('min_hole', chosen)}</label>"
        f"<label>Units {_select('units', UNIT_CHOICES, chosen.get('units', 'auto'))}</label>"
        f"<button type='submit'>Check</button></form>{result}{DROP_SCRIPT}</body></html>\n"
    )


FORM_STYLE = (
    "label{display:inline-block;margin:.3em 1em .3em 0}.error{color:#b00020}"
    ".drop{display:block;border:2px dashed #999;border-radius:6px;padding:1.2em;margin:1em 0}"
    ".drop.over{border-color:#1565c0;background:#e3f2fd}"
)
# a drop anywhere on the dashed box fills the file input (the input alone takes drops too)
DROP_SCRIPT = (
    "<script>const d=document.getElementById('drop'),f=d.querySelector('input');"
    "['dragenter','dragover'].forEach(e=>d.addEventListener(e,v=>{v.preventDefault();"
    "d.classList.add('over')}));['dragleave','drop'].forEach(e=>d.addEventListener(e,v=>{"
    "v.preventDefault();d.classList.remove('over')}));"
    "d.addEventListener('drop',v=>{f.files=v.dataTransfer.files})</script>"
)


def _select(name: str, options, chosen: str) -> str:
    """A <select> of `options` (names; a mapping shows each value's description too)."""
    items = []
    for option in options:
        text = f"{option}: {options[option].description}" if isinstance(options, dict) else option
        selected = " selected" if option == chosen else ""
        items.append(f"<option value='{escape(option)}'{selected}>{escape(text)}</option>")
    return f"<select name='{name}'>{''.join(items)}</select>"


def _number(name: str, chosen: Mapping) -> str:
    """A size field in mm, empty for the process's own limit."""
    value = escape(chosen.get(name, ""))
    return f"<input name='{name}' size='5' placeholder='process' value='{value}'>"
