"""The code's own rules, checked so they stay true: no function in the package over 80 lines,
and the repository stands on its own (no file names a design document that is not in it)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80


def test_no_function_in_the_package_is_over_80_lines():
    long = []
    for path in sorted((ROOT / "printability").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "functions over 80 lines: " + ", ".join(long)


def test_no_tracked_file_refers_to_the_design_document_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    name = "DESIGN" + ".md"  # spelled in two parts so this file does not match itself
    mentions = [
        f for f in files if (ROOT / f).is_file() and name.encode() in (ROOT / f).read_bytes()
    ]
    assert not mentions, f"files mentioning {name}: {mentions}"
