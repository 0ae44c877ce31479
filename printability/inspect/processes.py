"""Process profiles: the smallest wall and hole each additive process prints reliably, in mm.

An editable table: change a value here, or pass your own limits to `check`. The values are the
minimum-feature table of one public design-for-manufacturing guide (CIF Proto, "DFM for 3D
printing", https://cifproto.com/dfm-for-3d-printing.php), chosen so all five processes come from
one source; other guides differ by a few tenths of a millimetre (e.g. arti90.com/en/design-clues
gives FDM 1 mm walls, SLS 0.7 mm walls and 1.5 mm holes, DMLS 0.4 mm walls). They are design
rules of thumb, not machine guarantees: ask your print service for theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "https://cifproto.com/dfm-for-3d-printing.php (minimum features by process)"


@dataclass(frozen=True)
class ProcessProfile:
    """The printable limits of one process."""

    name: str
    description: str
    min_wall_mm: float  # thinnest wall that prints reliably
    min_hole_mm: float  # smallest hole diameter that prints open
    source: str = SOURCE


PROCESSES: dict[str, ProcessProfile] = {
    p.name: p
    for p in (
        ProcessProfile("fdm", "fused deposition modelling (ABS/PC)", 1.2, 2.0),
        ProcessProfile("sla", "stereolithography (standard resin)", 0.5, 0.5),
        ProcessProfile("sls", "selective laser sintering (PA12)", 0.8, 1.0),
        ProcessProfile("mjf", "multi jet fusion (PA12)", 0.5, 0.5),
        ProcessProfile("metal", "metal powder bed fusion (DMLS)", 0.5, 1.0),
    )
}


def get_process(name: str) -> ProcessProfile:
    """A profile by name, with the choices in the error."""
    if name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}; choose from {', '.join(PROCESSES)}")
    return PROCESSES[name]
