"""Heatmaps without torch: the most suspicious spot of a Grad-CAM map (`peak`), and a coarse
map carried by an ONNX export turned into a full-size one (`heat_from_cam`), so that `check`
can explain a verdict without importing torch."""

from __future__ import annotations

import numpy as np

# the fraction of voxels whose heat-weighted centroid `peak` returns (bench/explain.py)
PEAK_TOP_FRACTION = 0.05


def peak(
    heatmap: np.ndarray, top_fraction: float = PEAK_TOP_FRACTION
) -> tuple[float, float, float]:
    """The most suspicious spot of an (N, N, N) heatmap in index coordinates (x = axis 0,
    y = axis 1, z = axis 2): the heat-weighted centroid of its hottest `top_fraction` of voxels
    (5% by default: about 13,000 voxels at 64^3); top_fraction=0 gives the plain argmax.

    Why a centroid of a wide region, for the default (coarse, 8^3) layer: the network's evidence
    spreads along the hole and its hot cells are 8 voxels wide, so the argmax lands on one end
    or one corner of a plateau, while the centroid of the hot region falls on the hole's axis.
    On the pointing game (bench/explain.py) the top 5% points best for the default layer, and
    far better than the argmax. For a fine map (a 32^3 layer, or a product of layers) the argmax
    is the better rule. An all-zero map gives the grid's centre."""
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 3:
        raise ValueError(f"heatmap must be (N, N, N); got shape {heat.shape}")
    flat = heat.ravel()
    count = max(1, int(round(top_fraction * flat.size)))
    if count == 1 or not flat.any():
        if not flat.any():
            return tuple(float((s - 1) / 2) for s in heat.shape)  # type: ignore[return-value]
        return tuple(float(i) for i in np.unravel_index(int(np.argmax(flat)), heat.shape))  # type: ignore[return-value]
    hottest = np.argpartition(flat, -count)[-count:]
    weights = flat[hottest]
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    coords = np.stack(np.unravel_index(hottest, heat.shape), axis=1).astype(np.float64)
    centre = (coords * weights[:, None]).sum(axis=0) / weights.sum()
    return float(centre[0]), float(centre[1]), float(centre[2])


def heat_from_cam(cam: np.ndarray, size: int) -> np.ndarray:
    """A coarse Grad-CAM (n, n, n) as the (size, size, size) heatmap `gradcam.grad_cam` gives:
    trilinear upsampling as torch's interpolate(align_corners=False), then divided by its
    maximum (all zeros stay zeros)."""
    heat = np.asarray(cam, np.float32)
    for axis in range(3):
        heat = _linear_along(heat, axis, size)
    top = float(heat.max())
    return np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros_like(heat)


def _linear_along(values: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Linear resampling of one axis to `size` samples, pixel centres aligned (torch's
    align_corners=False: source = (i + 0.5) * n / size - 0.5, clamped at 0)."""
    n = values.shape[axis]
    source = np.maximum((np.arange(size) + 0.5) * n / size - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(int), n - 1)
    high = np.minimum(low + 1, n - 1)
    shape = [1, 1, 1]
    shape[axis] = size
    weight = (source - low).reshape(shape).astype(np.float32)
    return np.take(values, low, axis) * (1 - weight) + np.take(values, high, axis) * weight
