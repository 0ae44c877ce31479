"""report.html: one self-contained page (plots embedded as base64 PNG, no scripts, no network)
that answers how good, where it fails, and compared with what."""

from __future__ import annotations

import base64
import datetime
import html
import re
from pathlib import Path
from typing import Any

from printability.evaluate.predict import DECISION_THRESHOLD
from printability.geometry.mesh_io import implausible_size

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
.wide { overflow-x: auto; } /* a many-model table scrolls inside itself, not the page */
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
.headline { font-size: 1.15em; background: #f6f8fa; padding: 0.8em 1em; border-radius: 6px; }
.plots img { max-width: 100%; margin: 0.5em 0; } .muted { color: #666; font-size: 0.9em; }
.warning { color: #b00020; }
.gallery figure { margin: 1em 0; } .gallery img { max-width: 100%; border: 1px solid #ddd; }
"""

SCORE_COLUMNS = (
    ("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1"),
    ("roc_auc", "ROC AUC"), ("average_precision", "AP"), ("ece", "ECE"),
)  # fmt: skip


def write_report(
    path: Path,
    metrics: dict[str, Any],
    figures: dict[str, Path],
    gallery: list[tuple[dict, Path]],
    dataset_info: dict | None = None,
) -> Path:
    """Write the report page from evaluate()'s metrics, its plot PNGs and its gallery renders."""
    models = metrics["models"]
    body = [
        f"<h1>printability evaluation: {_e(metrics['model'])}</h1>",
        f"<p class='muted'>data {_e(metrics['data'])}, split <b>{_e(metrics['split'])}</b>, "
        f"{metrics['n']} samples; {_thresholds_text(dataset_info)}; "
        f"written {datetime.datetime.now():%Y-%m-%d %H:%M}</p>",
        f"<p class='headline'>{headline(metrics)}</p>",
        _judged(metrics, dataset_info),
        "<h2>How good, compared with what</h2>",
        _wide(_comparison_table(models)),
        "<p class='muted'>Printable is the positive class. ECE: expected calibration error "
        "(0 = the probabilities mean what they say). The rule baseline learns nothing: it "
        "measures holes and walls with morphological closing and opening.</p>",
        _plots(figures, ("ROC", "precision-recall", "confusion matrices", "calibration")),
        "<h2>Where it fails</h2>",
        _wide(_per_defect_table(models)),
        _plots(figures, ("accuracy per defect class", "accuracy by hole radius and wall")),
        f"<h3>Failures of {_e(metrics['model'])}, most confidently wrong first "
        f"(showing {len(metrics['failures'])} of {_errors(metrics)})</h3>",
        _wide(_failure_table(metrics["failures"])),
        f"<h3>Failure gallery (showing {len(gallery)} of {_errors(metrics)})</h3>",
        _gallery(gallery),
    ]
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>printability evaluation: {_e(metrics['model'])}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


def headline(metrics: dict[str, Any]) -> str:
    """One sentence per question: who is best, how good, compared with what, where most
    errors are."""
    name = _e(metrics["model"])
    text = _verdict(metrics["models"], metrics["n"], metrics["split"]) + (
        f"<b>{name}</b>: accuracy <b>{metrics['accuracy']:.3f}</b>, F1 {metrics['f1']:.3f}, "
        f"ROC AUC {_fmt(metrics['roc_auc'])} on {metrics['n']} {_e(metrics['split'])} samples "
        f"({metrics['samples_per_second']:.0f} samples/s)."
    )
    others = [(n, m) for n, m in metrics["models"].items() if n != metrics["model"]]
    if others:
        (_, fp), (fn, _) = metrics["confusion_matrix"]
        compared = [
            f"{_e(n)} accuracy {m['accuracy']:.3f}, F1 {m['f1']:.3f} "
            f"({len(m.get('errors_shared_with_first', []))} of the {fp + fn} errors above shared)"
            for n, m in others
        ]
        text += " Compared: " + "; ".join(compared) + "."
    stuck = [n for n, m in metrics["models"].items() if m.get("predicts_one_class")]
    if stuck:
        text += (
            f" <b>Not learned:</b> {', '.join(_e(n) for n in stuck)} "
            f"({'gives' if len(stuck) == 1 else 'each give'} one answer for every sample)."
        )
    per_defect = metrics["per_defect"]
    worst = max(per_defect.items(), key=lambda kv: kv[1]["errors"], default=None)
    if worst and worst[1]["errors"]:
        text += (
            f" Most errors: <b>{_e(worst[0])}</b> ({worst[1]['errors']} of {worst[1]['count']})."
        )
    return text


def _verdict(models: dict[str, dict], n: int, split: str) -> str:
    """Who is best on this split, by accuracy, and by how many points over the next; models
    that give one answer for every sample do not compete. Empty for a single model."""
    ranked = sorted(
        (m for m in models.items() if not m[1].get("predicts_one_class")),
        key=lambda item: (item[1]["accuracy"], item[1]["f1"]),
        reverse=True,
    )
    if len(ranked) < 2:
        return ""
    (best, b), (second, s) = ranked[:2]
    points = 100 * (b["accuracy"] - s["accuracy"])
    if round(points, 1) == 0:
        return (
            f"<b>{_e(best)} and {_e(second)} tie</b> on the {n} {_e(split)} samples at accuracy "
            f"{b['accuracy']:.3f}. "
        )
    return (
        f"<b>{_e(best)} is best</b> on the {n} {_e(split)} samples: accuracy {b['accuracy']:.3f},"
        f" {points:.1f} points ahead of {_e(second)} ({s['accuracy']:.3f}). "
    )


def headline_text(metrics: dict[str, Any]) -> str:
    """The headline as plain text, for the terminal."""
    return html.unescape(re.sub(r"<[^>]+>", "", headline(metrics)))


def _comparison_table(models: dict[str, dict]) -> str:
    # the best value of each column in bold, among models that learned: one stuck on
    # "printable" still scores F1 0.667
    learned = [m for m in models.values() if not m.get("predicts_one_class")]
    keys = [key for key, _ in SCORE_COLUMNS] + ["samples_per_second"]
    best = {key: _best(learned, key) if len(models) > 1 else None for key in keys}
    head = "".join(f"<th>{label}</th>" for _, label in SCORE_COLUMNS)
    rows = []
    for name, m in models.items():
        cells = "".join(_cell(m, key, best[key], 3) for key, _ in SCORE_COLUMNS)
        (tn, fp), (fn, tp) = m["confusion_matrix"]
        label = _e(name)
        if m.get("predicts_one_class"):
            label += f"<br><small>says {_e(m['predicts_one_class'])} for every sample</small>"
        rows.append(
            f"<tr><td>{label}</td>{cells}<td>{tn} / {fp} / {fn} / {tp}</td>"
            f"{_cell(m, 'samples_per_second', best['samples_per_second'], 0)}</tr>"
        )
    return (
        f"<table><tr><th>model</th>{head}<th>tn / fp / fn / tp</th><th>samples/s</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _best(models: list[dict], key: str) -> float | None:
    """A column's best value (lowest for the calibration error, else highest), or None."""
    values = [m[key] for m in models if isinstance(m.get(key), (int, float))]
    if not values:
        return None
    return min(values) if key == "ece" else max(values)


def _cell(m: dict, key: str, best: float | None, digits: int) -> str:
    """A table cell, in bold where it holds its column's best value."""
    text = _fmt(m.get(key), digits)
    return (
        f"<td><b>{text}</b></td>" if best is not None and m.get(key) == best else f"<td>{text}</td>"
    )


def _per_defect_table(models: dict[str, dict]) -> str:
    defects = sorted({d for m in models.values() for d in m["per_defect"]})
    head = "".join(f"<th>{_e(d)}</th>" for d in defects)
    first = next(iter(models.values()))["per_defect"]
    counts = "".join(f"<td>{first.get(d, {}).get('count', 0)}</td>" for d in defects)
    rows = [f"<tr><td class='muted'>samples</td>{counts}</tr>"]
    for name, m in models.items():
        cells = "".join(_defect_cell(m["per_defect"].get(d)) for d in defects)
        rows.append(f"<tr><td>{_e(name)}</td>{cells}</tr>")
    return f"<table><tr><th>accuracy per defect class</th>{head}</tr>{''.join(rows)}</table>"


def _defect_cell(row: dict | None) -> str:
    if row is None:
        return "<td>-</td>"
    return f"<td>{_fmt(row['accuracy'])} ({row['errors']} wrong)</td>"


def _errors(metrics: dict[str, Any]) -> int:
    """The first model's misclassified samples on the split: false positives and negatives."""
    (_, fp), (fn, _) = metrics["confusion_matrix"]
    return int(fp + fn)


def _failure_table(rows: list[dict]) -> str:
    if not rows:
        return "<p>No failures on this split.</p>"
    head = "<tr><th>sample</th><th>defect</th><th>label</th><th>P(printable)</th>"
    head += "<th>hole radius (vox)</th><th>wall (vox)</th><th>also wrong in</th></tr>"
    body = "".join(
        f"<tr><td>{_e(r['sample_id'])}</td><td>{_e(r['defect'])}</td><td>{r['label']}</td>"
        f"<td>{r['probability']:.3f}</td><td>{_fmt(r['hole_radius_vox'], 2)}</td>"
        f"<td>{_fmt(r['wall_vox'], 2)}</td>"
        f"<td>{_e(', '.join(r.get('also_wrong_in', [])))}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def _gallery(pictures: list[tuple[dict, Path]]) -> str:
    if not pictures:
        return "<p>No renders (no failures, or --gallery 0).</p>"
    figures = "".join(
        f"<figure>{_img(png, row['sample_id'])}<figcaption>{_e(row['sample_id'])}: "
        f"{_e(row['defect'])}, P(printable) {row['probability']:.3f}, hole radius "
        f"{_fmt(row['hole_radius_vox'], 2)} vox, wall {_fmt(row['wall_vox'], 2)} vox"
        "</figcaption></figure>"
        for row, png in pictures
    )
    return f"<div class='gallery'>{figures}</div>"


def _plots(figures: dict[str, Path], titles: tuple[str, ...]) -> str:
    return (
        "<div class='plots'>"
        + "".join(_img(figures[t], t) for t in titles if t in figures)
        + "</div>"
    )


def _judged(metrics: dict[str, Any], info: dict | None) -> str:
    """What was judged: each checkpoint and the data it was trained on, the decision
    threshold, the voxel size and units, and a warning when those sizes are no printed part's."""
    items = []
    for name, m in metrics["models"].items():
        trained = m.get("trained_on") or "an unknown dataset"
        if m.get("checkpoint") is None:
            source = "the rule baseline: no training"
        elif m.get("trained_on_this_data"):
            source = (
                f"{m['checkpoint']}, trained on {trained}, made with this dataset's config: "
                f"its training split, none of the {metrics['split']} split"
            )
        else:
            source = f"{m['checkpoint']}, trained on {trained}, another dataset"
        items.append(f"<li>{_e(name)}: {_e(source)}</li>")
    facts = f"A sample counts as printable from P(printable) {DECISION_THRESHOLD}."
    pitches, resolution = metrics.get("pitch_mm_range"), (info or {}).get("resolution")
    units = ((info or {}).get("config") or {}).get("units", "unknown")
    warning = ""
    if pitches:
        facts += f" Voxels {pitches[0]:.3g}-{pitches[1]:.3g} mm; source units: {_e(units)}."
        notes = [implausible_size(p * resolution) for p in pitches[::-1]] if resolution else []
        note = next((n for n in notes if n), None)  # the largest parts, else the smallest
        if note:
            note = note.replace("(--units)", "(generate --units)")  # evaluate has no --units
            warning = f"<p class='warning'>Sizes in mm may be wrong: a part is {_e(note)}</p>"
    return f"<h2>What was judged</h2><ul>{''.join(items)}</ul><p>{facts}</p>{warning}"


def _img(png: Path, alt: str) -> str:
    data = base64.b64encode(Path(png).read_bytes()).decode()
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def _thresholds_text(info: dict | None) -> str:
    t = (info or {}).get("thresholds") or {}
    if not t:
        return "thresholds unknown"
    return (
        f"limits r_p {t.get('r_p')}, r_np {t.get('r_np')}, b_p {t.get('b_p')}, "
        f"b_np {t.get('b_np')} voxels ({_e(t.get('name', ''))})"
    )


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _wide(table: str) -> str:
    """A table that scrolls inside its own box on a narrow screen."""
    return f"<div class='wide'>{table}</div>"


def _e(text: Any) -> str:
    return html.escape(str(text))
