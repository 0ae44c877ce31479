"""Example parts whose answer is known: boxes with and without drilled holes (manifold3d), for
the demo and the tests of `check`."""

from __future__ import annotations

from pathlib import Path

import manifold3d
import trimesh

BOX_MM = (40.0, 40.0, 20.0)

# name -> (hole radius mm or None, hole axis offset along y in mm, expected verdict)
EXAMPLES: dict[str, tuple[float | None, float, bool]] = {
    "plain_box": (None, 0.0, True),
    "wide_hole": (5.0, 0.0, True),  # 10 mm hole, walls of 15 mm
    "narrow_hole": (1.2, 0.0, False),  # 2.4 mm hole in a 40 mm part: narrow at the model's scale
    "thin_wall": (5.0, 14.0, False),  # 10 mm hole 1 mm under the face at y = 20
}


def box_with_hole(radius: float | None = None, offset_y: float = 0.0) -> trimesh.Trimesh:
    """A 40 x 40 x 20 mm box centred on the origin, optionally drilled through along z at
    (0, offset_y) with a hole of `radius` mm."""
    solid = manifold3d.Manifold.cube(BOX_MM, center=True)
    if radius:
        drill = manifold3d.Manifold.cylinder(100, radius, radius, 64, center=True)
        solid = solid - drill.translate((0, offset_y, 0))
    mesh = solid.to_mesh()
    return trimesh.Trimesh(mesh.vert_properties[:, :3], mesh.tri_verts)


def write_examples(folder: str | Path, suffix: str = ".stl") -> list[Path]:
    """Write every example part to `folder` as `<name><suffix>`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (radius, offset_y, _) in EXAMPLES.items():
        path = folder / f"{name}{suffix}"
        box_with_hole(radius, offset_y).export(path)
        paths.append(path)
    return paths
