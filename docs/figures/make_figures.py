"""Draw the figures of docs/labels.md: how a hole's wall is measured (wall_definition.png), and
a thin wall against a thin spot (thin_patch.png).

Run: .venv/bin/python docs/figures/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from printability.config import get_preset
from printability.data.defects import rim_margin, wall_cap
from printability.geometry.measure import (
    N_ANGLES,
    T_STEP,
    Hole,
    hole_mask,
    measure_wall,
    ray_walls,
)
from printability.geometry.morphology import occupied

OUT = Path(__file__).with_name("wall_definition.png")
PATCH_OUT = Path(__file__).with_name("thin_patch.png")


def main() -> None:
    th = get_preset("seed2021").at_resolution(64)
    n = 64
    solid = np.zeros((n, n, n), bool)
    solid[8:56, 8:56, 20:44] = True  # a 48 x 48 x 24 voxel plate
    tilt = np.radians(35)
    axis = np.array([np.sin(tilt), 0.0, np.cos(tilt)])
    hole = Hole(np.array([28.3, 32.0, 32.0]), axis, 6.0)
    m = measure_wall(solid, hole, rim_margin(hole.radius, th), wall_cap(th))
    carved = solid & ~hole_mask(solid.shape, hole)

    fig = Figure(figsize=(12, 5.2))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    # left: the slice y = 32, which contains the hole axis
    left.imshow(
        carved[:, 32, :].T, origin="lower", cmap="Greys", vmin=0, vmax=1.6, extent=(0, n, 0, n)
    )
    t = np.linspace(-40, 40, 2)
    left.plot(
        hole.center[0] + t * axis[0], hole.center[2] + t * axis[2], "r-", lw=1, label="hole axis"
    )
    rim = rim_margin(hole.radius, th)
    for side in (-1, 1):  # the two surface lines of the hole in this slice, and their rims
        start = hole.center + side * hole.radius * np.array([axis[2], 0.0, -axis[0]])
        t = np.arange(-60, 60, 0.25)
        inside = np.flatnonzero(occupied(solid, start + t[:, None] * axis))
        for t_end, sign in ((t[inside[0]], 1), (t[inside[-1]], -1)):
            seg = start + np.array([t_end, t_end + sign * rim])[:, None] * axis
            left.plot(seg[:, 0], seg[:, 2], color="orange", lw=4, solid_capstyle="butt")
    left.plot([], [], color="orange", lw=4, label=f"rims: not measured (r + b_p = {rim:g} vox)")
    left.annotate(
        "thin wedge at an oblique exit:\nnot a thin wall",
        xy=(26, 43),
        xytext=(2, 54),
        arrowprops={"arrowstyle": "->"},
        fontsize=9,
    )
    left.annotate(
        f"walls measured between the rims,\nperpendicular to the axis: {m.wall_vox:g} vox",
        xy=(14, 30),
        xytext=(2, 6),
        arrowprops={"arrowstyle": "->"},
        fontsize=9,
    )
    left.set(
        title="slice through the hole axis",
        xlabel="x (voxels)",
        ylabel="z (voxels)",
        xlim=(0, n),
        ylim=(0, n),
    )
    left.legend(loc="lower right", fontsize=8)
    # right: a cross-section perpendicular to the axis, with the rays
    right.add_patch(Rectangle((-30, -30), 60, 60, color="0.85"))
    right.add_patch(Circle((0, 0), hole.radius, color="white", ec="k"))
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for a in angles:
        d = np.array([np.cos(a), np.sin(a)])
        right.plot(*np.stack([d * hole.radius, d * (hole.radius + 7)]).T, color="tab:blue", lw=0.8)
    right.add_patch(Circle((0, 0), hole.radius + th.b_p, fill=False, ls="--", ec="green"))
    right.add_patch(Circle((0, 0), hole.radius + th.b_np, fill=False, ls=":", ec="red"))
    right.text(0, -hole.radius - 2, "hole", ha="center", fontsize=9)
    right.text(-9.5, 10.5, f"wall >= b_p = {th.b_p:g}: printable", color="green", fontsize=9)
    right.text(-9.5, 8.5, f"1 <= wall <= b_np = {th.b_np:g}: thin_wall", color="red", fontsize=9)
    right.text(
        -9.5,
        -14,
        "rays every 7.5 degrees march outward in 0.25-voxel steps\n"
        "until they leave the material; wall = shortest march",
        fontsize=9,
    )
    right.set(
        title="cross-section perpendicular to the axis",
        xlim=(-15, 15),
        ylim=(-15, 15),
        aspect="equal",
        xticks=[],
        yticks=[],
    )
    fig.suptitle("How a hole's wall is measured (seed2021 preset at 64^3)")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(OUT, f"measured wall {m.wall_vox} voxels, open={m.is_open}")


def thin_patch() -> None:
    """Two holes through a plate near its x = 8 face, their walls unrolled (along the axis x
    around it): one parallel to the face (thin along its whole length), one tilted towards the
    face so that it comes within b_np of the outside only at a spot (rejected)."""
    th = get_preset("seed2021").at_resolution(64)
    solid = np.zeros((64, 64, 64), bool)
    solid[8:56, 8:56, 20:44] = True
    cases = {
        "thin wall: a patch, kept": Hole(np.array([15.5, 32.0, 32.0]), np.array([0, 0, 1.0]), 6.0),
        "thin spot: rejected": Hole(
            np.array([15.0, 32.0, 32.0]), np.array([np.sin(0.25), 0.0, np.cos(0.25)]), 6.0
        ),
    }
    fig = Figure(figsize=(12, 4.6))
    for i, (title, hole) in enumerate(cases.items()):
        ax = fig.add_subplot(1, 2, i + 1)
        rim = rim_margin(hole.radius, th)
        walls = ray_walls(solid, hole, rim, wall_cap(th))
        m = measure_wall(solid, hole, rim, wall_cap(th), th.b_np)
        rows = np.flatnonzero(~np.isnan(walls).all(axis=1))
        walls = walls[rows[0] : rows[-1] + 1]
        image = ax.imshow(
            walls.T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=wall_cap(th),
            extent=(0, len(walls) * T_STEP, 0, 360),
        )  # fmt: skip
        thin = np.nan_to_num(walls, nan=np.inf) <= th.b_np
        ys, xs = np.nonzero(thin.T)
        ax.scatter((xs + 0.5) * T_STEP, (ys + 0.5) * 360 / N_ANGLES, s=6, c="red",
                   label=f"wall <= b_np = {th.b_np:g} vox")  # fmt: skip
        ax.set(
            title=f"{title}\nthinnest wall {m.wall_vox:g} vox, largest thin patch "
            f"{m.thin_extent_vox:.1f} vox (needs {th.b_p:g})",
            xlabel="along the hole axis (voxels, rims left out)",
            ylabel="around the hole (degrees)",
        )
        ax.legend(loc="center left", fontsize=8)
        fig.colorbar(image, ax=ax, label="wall along the ray (voxels; blank: rim)")
    fig.suptitle("A thin wall must be thin over a patch at least b_p voxels along or around")
    fig.tight_layout()
    fig.savefig(PATCH_OUT, dpi=110)
    print(PATCH_OUT)


if __name__ == "__main__":
    main()
    thin_patch()
