"""Training windows like the ones `check` judges on a large part.

`check` voxelizes a large part at a fixed pitch into a grid bigger than the network's input and
judges N^3 windows of it: cut faces where a window crosses the part, and a part bigger than
the window. A window part is made the same way: a procedural part fitted to a grid 1.4-2.2x
the input's size (its features keep the same size in voxels as in a fitted part), its defect
carved and measured in that whole grid, and then one N^3 window cut around the defect. The
network input is encoded on the whole grid and the window's block cut from it, as `check`
does, so distances see the material beyond the window's faces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from printability.config import GenerateConfig, VoxelConfig
from printability.data.inputs import get_input, region_codes
from printability.inspect.windows import pad_to_window

WINDOW_SCALE = (1.4, 2.2)  # the whole grid's side, relative to the network's input


@dataclass
class Window:
    """One N^3 window: its voxels, defect mask and stored inputs, and `shift`, which maps the
    whole grid's voxel coordinates to the window's (add it)."""

    voxels: np.ndarray
    mask: np.ndarray
    inputs: dict[str, np.ndarray]
    shift: np.ndarray


def is_window_part(index: int, config: GenerateConfig) -> bool:
    """Whether base part `index` is made as a window part (a `window_fraction` of them, by a
    hash of seed and index, so it does not depend on workers or shards)."""
    if config.window_fraction <= 0:
        return False
    digest = hashlib.sha256(f"{config.seed}:window:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < config.window_fraction


def window_voxel_config(config: GenerateConfig, rng: np.random.Generator) -> VoxelConfig:
    """The whole grid of a window part: WINDOW_SCALE times the input's side, a multiple of 4."""
    side = config.voxel.resolution * rng.uniform(*WINDOW_SCALE)
    return replace(config.voxel, resolution=int(min(256, 4 * round(side / 4))))


def focus_voxels(
    voxels: np.ndarray, mask: np.ndarray, carved: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The voxels a window must hold (V, 3): the defect's mask, else the material a hole
    removed, else one random voxel of the part's surface (a clean part)."""
    for region in (mask, carved):
        if region.any():
            return np.argwhere(region)
    surface = voxels & ~ndimage.binary_erosion(voxels)
    points = np.argwhere(surface)
    return points[rng.integers(len(points))][None]


def window_corner(
    focus: np.ndarray, shape: tuple[int, ...], size: int, block: int, rng: np.random.Generator
) -> np.ndarray:
    """A random window corner, on the input's blocks, whose window holds the focus box (or
    its centre, for a focus wider than the window)."""
    lo, hi = focus.min(axis=0), focus.max(axis=0) + 1
    corner = np.zeros(3, int)
    for a in range(3):
        top = shape[a] - size
        first = -(-max(0, hi[a] - size) // block) * block
        last = min(lo[a], top) // block * block
        if first > last:  # the focus is wider than the window: centre on it
            middle = (lo[a] + hi[a]) // 2 - size // 2
            corner[a] = int(np.clip(middle // block * block, 0, top // block * block))
        else:
            corner[a] = block * int(rng.integers(first // block, last // block + 1))
    return corner


def window_codes(
    grid: np.ndarray, corner: np.ndarray, size: int, name: str, block: int
) -> np.ndarray:
    """The stored input of the size^3 window at `corner` (on `block`s), as if encoded on the
    whole grid and cut (`region_codes`)."""
    corner = np.asarray(corner)
    return region_codes(grid, corner, corner + size, name, block)


def cut_window(
    voxels: np.ndarray,
    mask: np.ndarray,
    carved: np.ndarray,
    size: int,
    input_names: tuple[str, ...],
    input_name: str,
    rng: np.random.Generator,
) -> Window:
    """Cut one size^3 window around the sample's defect (or a random spot of a clean part):
    voxels and mask from the whole grid, stored inputs encoded on the whole grid then cut.
    `input_name` sets the block that window corners fall on, as in `check`."""
    block = get_input(input_name).downsample
    padded, offset = pad_to_window(voxels, size, multiple=block)
    padded_mask, _ = pad_to_window(mask, size, multiple=block)  # the same padding
    focus = focus_voxels(voxels, mask, carved, rng) + offset
    corner = window_corner(focus, padded.shape, size, block, rng)
    cut = tuple(slice(int(c), int(c) + size) for c in corner)
    inputs = {name: window_codes(padded, corner, size, name, block) for name in input_names}
    return Window(padded[cut].copy(), padded_mask[cut].copy(), inputs, offset - corner)
