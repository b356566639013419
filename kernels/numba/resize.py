"""Pad-to-square and bilinear resize in one pass, equal to face-api.js's.

Computes what ``pad_to_square`` followed by ``resize_bilinear`` (``faceapi_np/ops.py``)
compute — tfjs-core 1.7's CPU ``resizeBilinear`` (no half-pixel centres; neighbours
``floor`` and ``min(ceil, S - 1)``; interpolation in float64, stored as float32) applied
to the zero-padded square — without building the padded square: a source pixel outside
the image reads as 0. Bit-identical to the reference. Parallel over output rows.

Variants tried: the NumPy reference on a 1920x1280 photo to 512x512 takes ~60 ms (it
builds the 1920x1920 padded square in float64); this kernel ~2 ms.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(inline="always")
def _pixel(img, y, x, off_y, off_x, ch):
    yy = y - off_y
    xx = x - off_x
    if yy < 0 or yy >= img.shape[0] or xx < 0 or xx >= img.shape[1]:
        return 0.0
    return float(img[yy, xx, ch])


@njit(parallel=True, cache=True)
def resize_to_square(img, size, side, off_y, off_x):
    """(size, size, 3) float32 from ``img`` placed at (off_y, off_x) in a zero square of ``side``."""
    out = np.empty((size, size, img.shape[2]), dtype=np.float32)
    ratio = side / size
    for r in prange(size):
        fy = ratio * r
        y0 = int(math.floor(fy))
        y1 = min(side - 1, int(math.ceil(fy)))
        dy = fy - y0
        for c in range(size):
            fx = ratio * c
            x0 = int(math.floor(fx))
            x1 = min(side - 1, int(math.ceil(fx)))
            dx = fx - x0
            for ch in range(img.shape[2]):
                tl = _pixel(img, y0, x0, off_y, off_x, ch)
                tr = _pixel(img, y0, x1, off_y, off_x, ch)
                bl = _pixel(img, y1, x0, off_y, off_x, ch)
                br = _pixel(img, y1, x1, off_y, off_x, ch)
                top = tl + (tr - tl) * dx
                bot = bl + (br - bl) * dx
                out[r, c, ch] = top + (bot - top) * dy
    return out
