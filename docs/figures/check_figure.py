"""Draw the README's picture: `check` on the example box with a thin wall, its Grad-CAM over
the part's surface from two sides (check_thin_wall.png).

Run: .venv/bin/python docs/figures/check_figure.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from printability.inspect.check import Checker
from printability.inspect.figures import part_frame, view_3d_figure
from printability.inspect.samples import write_examples

OUT = Path(__file__).with_name("check_thin_wall.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = {p.stem: p for p in write_examples(folder)}
        row = Checker(keep_maps=True).check_file(paths["thin_wall"])
    print(f"{row.file}: printable={row.printable} P={row.probability:.3f} {row.problems}")
    view_3d_figure(row, part_frame(row)).savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
