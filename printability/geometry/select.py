"""The ModelSelector: which meshes from a folder are worth turning into samples."""

from __future__ import annotations

from pathlib import Path

import trimesh

from printability.config import SelectConfig


def file_size_reason(path: str | Path, config: SelectConfig) -> str | None:
    """Reject a file by size before paying for loading it."""
    size_mb = Path(path).stat().st_size / 1e6
    if config.max_file_mb is not None and size_mb > config.max_file_mb:
        return f"file larger than {config.max_file_mb:g} MB"
    return None


def mesh_reason(mesh: trimesh.Trimesh, config: SelectConfig) -> str | None:
    """Why a (repaired) mesh is not selected, or None if it is."""
    faces = len(mesh.faces)
    if config.min_faces is not None and faces < config.min_faces:
        return f"fewer than {config.min_faces} faces"
    if config.max_faces is not None and faces > config.max_faces:
        return f"more than {config.max_faces} faces"
    if config.require_watertight and not mesh.is_watertight:
        return "not watertight"
    if config.min_compactness is not None and compactness(mesh) < config.min_compactness:
        return f"compactness below {config.min_compactness:g}"
    return None


def compactness(mesh: trimesh.Trimesh) -> float:
    """Volume over axis-aligned bounding-box volume: ~1 for blocks, small for wiry frames."""
    box = float(mesh.extents.prod())
    return float(abs(mesh.volume)) / box if box > 0 else 0.0
