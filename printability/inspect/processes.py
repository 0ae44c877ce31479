"""Process profiles: the smallest wall and hole each additive process prints reliably, in mm.

An editable table: change a value here, or pass your own limits to `check` (`--min-wall`,
`--min-hole`; `with_limits` from Python). The values are the
minimum-feature table of one public design-for-manufacturing guide (CIF Proto, "DFM for 3D
printing", https://cifproto.com/dfm-for-3d-printing.php), chosen so all five processes come from
one source; other guides differ by a few tenths of a millimetre (e.g. arti90.com/en/design-clues
gives FDM 1 mm walls, SLS 0.7 mm walls and 1.5 mm holes, DMLS 0.4 mm walls). They are design
rules of thumb, not machine guarantees: ask your print service for theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SOURCE = "https://cifproto.com/dfm-for-3d-printing.php (minimum features by process)"


@dataclass(frozen=True)
class ProcessProfile:
    """The printable limits of one process."""

    name: str
    description: str
    min_wall_mm: float  # thinnest wall that prints reliably
    min_hole_mm: float  # smallest hole diameter that prints open
    source: str = SOURCE
    # P(printable) under which the network objects: calibrated on plain generated parts
    # (bench/false_alarms.py), so the network alone fails few parts the rules clear
    network_threshold: float = 0.5


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


def with_limits(
    profile: ProcessProfile, min_wall_mm: float | None = None, min_hole_mm: float | None = None
) -> ProcessProfile:
    """The profile with your own limits (your printer's or your print service's) in place of
    the table's; None keeps the table's value."""
    for label, value in (("wall", min_wall_mm), ("hole", min_hole_mm)):
        if value is not None and not 0 < value < float("inf"):
            raise ValueError(f"the minimum {label} must be a positive number of mm, got {value}")
    if min_wall_mm is None and min_hole_mm is None:
        return profile
    return replace(
        profile,
        min_wall_mm=profile.min_wall_mm if min_wall_mm is None else float(min_wall_mm),
        min_hole_mm=profile.min_hole_mm if min_hole_mm is None else float(min_hole_mm),
        source="your own limits (check --min-wall / --min-hole)",
    )
