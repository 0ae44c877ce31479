"""Errors meant for people: one line that names the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class MeshError(ValueError):
    """A mesh that cannot be used; str() is a one-line message naming the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
