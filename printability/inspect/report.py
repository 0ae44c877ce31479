"""`check --report OUT.html`: one self-contained page with the process and its limits, the verdict
table and, for every part judged not printable, the checks it failed with the sizes measured,
and the pictures of inspect/figures.py: three cuts through the feature that failed, in mm in the
part's own coordinates, and a 3D view from two sides. For a large part checked in windows, the
pictures show the window the network liked least. The page reads on a narrow screen too."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from printability.inspect.check import TABLE_HEAD, PartCheck, table_rows
from printability.inspect.figures import part_frame, slices_figure, view_3d_figure
from printability.inspect.processes import PROCESSES

# readable from 800 px down: the table wraps its long cells instead of scrolling sideways
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
    "img{max-width:100%;height:auto}table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.file{word-break:break-all;min-width:8em}"
    "td.bad{color:#b00020;font-weight:600}"
)


def write_check_report(results: Sequence[PartCheck], path: str | Path) -> Path:
    """Write the page: the process line, the table and the parts' sections (part_sections)."""
    path = Path(path)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>printability check</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{STYLE}</style></head><body><h1>printability check</h1>"
        f"<p>{_e(process_line(results))}</p>{verdict_table(results)}"
        + (part_sections(results) or "<p>No part was judged not printable.</p>")
        + "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def part_sections(results: Sequence[PartCheck]) -> str:
    """HTML for each part judged not printable: the checks it failed and passed, its sizes,
    and, where the row kept its grid (Checker(keep_maps=True)), the cuts through the failed
    feature and the 3D view. Printable parts get nothing."""
    return "".join(_section(r) for r in results if r.printable is False)


def _section(r: PartCheck) -> str:
    """One failed part: heading, checks, sizes and places, pictures."""
    passed = ["hole and wall sizes within the process's limits"] if r.process_ok else []
    if r.network_printable:
        passed.append(f"network: P(printable) {r.probability:.3f}")
    checks = "".join(f"<li>{_e(c)}</li>" for c in failed_checks(r))
    checks += "".join(f"<li>passed: {_e(c)}</li>" for c in passed)
    facts = [f"P(printable) {r.probability:.3f}"]
    if r.suspect_mm is not None:
        at = "({:.1f}, {:.1f}, {:.1f}) mm".format(*r.suspect_mm)
        facts.append(f"the network's most suspicious region at {at}")
    sizes = (
        ("thinnest wall", r.min_wall_mm, r.wall_at_mm),
        ("smallest hole diameter", r.min_hole_diameter_mm, r.hole_at_mm),
    )
    for name, size, where in sizes:
        if size is not None:
            at = "" if where is None else " at ({:.1f}, {:.1f}, {:.1f}) mm".format(*where)
            facts.append(f"{name} {size:.2f} mm{at}")
    facts.append(f"voxel {r.pitch_mm} mm")
    if r.windows > 1 and r.grid is not None:  # the pictures show the worst window only
        facts.append(f"pictures of the worst of {r.windows} windows of a "
                     f"{'x'.join(map(str, r.grid))} grid")  # fmt: skip
    return (
        f"<h2>{_e(Path(r.file).name)}: not printable for {_e(r.process)}</h2>"
        f"<p>Failed:</p><ul>{checks}</ul><p>{_e('; '.join(facts))} (the part's coordinates).</p>"
        + _pictures(r)
    )


def _pictures(r: PartCheck) -> str:
    """The cuts and, where there is a Grad-CAM, the 3D view of its heat, as <img> tags (a part
    the network lets through gets cuts through its measured sizes only)."""
    if r.solid is None or r.mesh is None or r.placement is None:
        return ""
    frame = part_frame(r)
    tags = _img(f"cuts through {r.file}", slices_figure(r, frame))
    if r.heatmap is not None:
        tags += _img(f"3D view of {r.file}", view_3d_figure(r, frame))
    return tags


def _img(alt: str, fig: Figure) -> str:
    """An <img> with the figure embedded as PNG."""
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{_png(fig)}'>"


def verdict_table(results: Sequence[PartCheck]) -> str:
    """The verdict table as HTML (check.table_rows), verdicts that fail in red."""
    head = "".join(f"<th>{_e(h)}</th>" for h in TABLE_HEAD)
    rows = []
    for row in table_rows(results):
        file, verdict, *rest = row
        bad = " class='bad'" if verdict != "printable" else ""
        cells = f"<td class='file'>{_e(file)}</td><td{bad}>{_e(verdict)}</td>"
        rows.append("<tr>" + cells + "".join(f"<td>{_e(c)}</td>" for c in rest) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def process_line(results: Sequence[PartCheck]) -> str:
    """What the parts were held to, for the top of the page: the process and its limits, and
    the network's threshold (from the first row that was judged)."""
    judged = [r for r in results if r.hole_limit_mm is not None]
    if not judged:
        return "No part could be judged."
    r = judged[0]
    process = PROCESSES.get(r.process)
    name = f"{r.process}, {process.description}" if process else r.process
    return (
        f"Process: {name}. Limits: thinnest wall {r.wall_limit_mm} mm, smallest hole diameter "
        f"{r.hole_limit_mm} mm. The network objects under P(printable) {r.network_threshold}."
    )


def failed_checks(r: PartCheck) -> list[str]:
    """Each check a part failed, in words with the margin: the network (its P against the
    threshold) and every hole diameter or wall under the process's limit."""
    failed = []
    if r.network_printable is False and r.probability is not None:
        threshold = "its threshold" if r.network_threshold is None else r.network_threshold
        failed.append(f"network: P(printable) {r.probability:.3f} < {threshold}")
    for problem in r.problems:
        kind, _, rest = problem.partition(" ")
        failed.append(f"{'hole diameter' if kind == 'hole' else kind} {rest}")
    return failed


def _png(fig: Figure) -> str:
    """A figure as base64 PNG text (nothing written to disk)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=80)
    fig.clear()
    return base64.b64encode(buffer.getvalue()).decode()


def _e(text: object) -> str:
    return html.escape(str(text))
