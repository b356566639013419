"""Fused conv epilogue: bias, scale layer, residual add and activation in one pass.

Computes, in place on the conv's output viewed as rows of channels,

    y = act((y + bias) * scale_w + scale_b + residual)

NumPy reference: ``NumpyBackend.conv2d`` in ``faceapi_np/backend/numpy_backend.py``,
which applies the same terms one array operation at a time (four or five passes over the
activation); here it is one read and one write. Activation codes: 0 none, 1 relu,
2 relu6, 3 leaky (face-api.js's ``relu(x - a*x) + a*x`` form, a = float32(0.1)).

Variants tried (SSD MobileNetV1 pointwise convs, 2 cores): per-term NumPy passes
~35 ms per SSD forward; this kernel ~6 ms. Channels innermost so the loop vectorises.
The conv kernel calls :func:`epilogue_rows` on each of its tiles while the tile is in
cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...activations import ACT_CODES  # noqa: F401  (one definition)
from ...activations import LEAKY_ALPHA as _ALPHA

# numba reads module globals as compile-time constants: the slope as a float32 one
LEAKY_ALPHA = np.float32(_ALPHA)


@njit(inline="always")
def activate(v, act):
    """One value through activation ``act`` (see the module docstring for codes)."""
    if act == 1:
        return max(v, np.float32(0.0))
    if act == 2:
        return min(max(v, np.float32(0.0)), np.float32(6.0))
    if act == 3:
        a = v * LEAKY_ALPHA
        return max(v - a, np.float32(0.0)) + a
    return v


@njit(inline="always")
def epilogue_rows(y, bias, scale_w, scale_b, residual, row0, act):
    """In place on the rows ``y`` (M, C), which are rows ``row0 ..`` of ``residual``.

    Zero-length ``bias``/``scale_w``/``residual`` mean 'absent'. Called by the conv
    kernel on each tile while the tile is in cache, and by :func:`epilogue`.
    """
    m, c = y.shape
    has_bias, has_scale, has_res = (
        bias.shape[0] > 0,
        scale_w.shape[0] > 0,
        residual.shape[0] > 0,
    )
    if not (has_bias or has_scale or has_res or act != 0):
        return
    for i in range(m):
        for j in range(c):
            v = y[i, j]
            if has_bias:
                v = v + bias[j]
            if has_scale:
                v = v * scale_w[j] + scale_b[j]
            if has_res:
                v = v + residual[row0 + i, j]
            y[i, j] = activate(v, act)


@njit(inline="always")
def epilogue_tile(out, p0, p1, c0, c1, bias, scale_w, scale_b, residual, act):
    """:func:`epilogue_rows` on rows ``p0 .. p1``, channels ``c0 .. c1`` of ``out``.

    A tile of whole rows keeps its contiguous type, so that the loop over channels
    vectorises; a block of channels is a strided view (measured: bias + leaky on
    Tiny Face Detector's (207*207, 32) output, one core, 0.5 ms contiguous, 1.7 strided).
    """
    if c0 == 0 and c1 == out.shape[1]:
        epilogue_rows(out[p0:p1], bias, scale_w, scale_b, residual, p0, act)
    else:
        epilogue_rows(
            out[p0:p1, c0:c1],
            bias[c0:c1],
            scale_w[c0:c1],
            scale_b[c0:c1],
            residual[:, c0:c1],
            p0,
            act,
        )
