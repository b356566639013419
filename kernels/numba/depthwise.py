"""Depthwise convolution fused with batch norm and activation.

Computes ``y[n, oy, ox, c] = act((sum_{ky, kx} relu?(x[n, s*oy - pt + ky, s*ox - pl + kx, c])
* w[ky, kx, c] - mean[c]) * inv[c] + offset[c])`` (input ReLU and batch norm optional), reading
each input row once per output row and writing each output once. NumPy reference:
``depthwise_conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (KH*KW passes over
shifted slices, then the batch norm and activation as further passes) and
``depthwise_conv2d_naive``.

Parallel over (image, output row); channels innermost, so the multiply-adds vectorise
over C (NHWC). Out-of-image taps are skipped rather than read from a padded copy.

Variants tried (SSD MobileNetV1 at 512x512, all 13 depthwise layers, 2 cores): NumPy
shifted slices + separate BN and ReLU6 passes ~110 ms; this kernel ~12 ms; a variant
with the tap loops innermost (per channel) ~3x slower, as it does not vectorise.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .epilogue import activate


@njit(parallel=True, cache=True)
def depthwise_conv2d(x, w, stride, pad_top, pad_left, ho, wo, mean, inv, offset, act, relu_input):
    """x (N, H, W, C), w (KH, KW, C); zero-length ``mean`` means no batch norm; with
    ``relu_input`` each input value goes through a ReLU as it is read."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[0], w.shape[1]
    has_bn = mean.shape[0] > 0
    out = np.empty((n, ho, wo, c), dtype=np.float32)
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        acc = np.empty(c, dtype=np.float32)
        for ox in range(wo):
            acc[:] = 0.0
            for ky in range(kh):
                iy = oy * stride - pad_top + ky
                if iy < 0 or iy >= h:
                    continue
                for kx in range(kw):
                    ix = ox * stride - pad_left + kx
                    if ix < 0 or ix >= wd:
                        continue
                    if relu_input:  # its own loop, so each body stays branch-free and vectorises
                        for ci in range(c):
                            v = x[b, iy, ix, ci]
                            acc[ci] += (v if v > 0.0 else np.float32(0.0)) * w[ky, kx, ci]
                    else:
                        for ci in range(c):
                            acc[ci] += x[b, iy, ix, ci] * w[ky, kx, ci]
            for ci in range(c):
                v = acc[ci]
                if has_bn:
                    v = (v - mean[ci]) * inv[ci] + offset[ci]
                out[b, oy, ox, ci] = activate(v, act)
    return out
