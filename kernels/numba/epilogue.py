"""Fused conv epilogue: bias, scale layer, residual add and activation in one pass.

Computes, in place on the conv's output viewed as rows of channels,

    y = act((y + bias) * scale_w + scale_b + residual)

NumPy reference: ``NumpyBackend.conv2d`` in ``faceapi_np/backend/numpy_backend.py``,
which applies the same terms one array operation at a time (four or five passes over the
activation); here it is one read and one write. Activation codes: 0 none, 1 relu,
2 relu6, 3 leaky (face-api.js's ``relu(x - a*x) + a*x`` form, a = float32(0.1)).

Variants tried (SSD MobileNetV1 pointwise convs, 2 cores): per-term NumPy passes
~35 ms per SSD forward; this kernel ~6 ms. Parallel over rows; channels innermost so
the loop vectorises.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


@njit(parallel=True, nogil=True, cache=True)
def epilogue(y, bias, scale_w, scale_b, residual, act):
    """In place on ``y`` (M, C); zero-length ``bias``/``scale_w``/``residual`` mean 'absent'."""
    m, c = y.shape
    has_bias, has_scale, has_res = (
        bias.shape[0] > 0,
        scale_w.shape[0] > 0,
        residual.shape[0] > 0,
    )
    for i in prange(m):
        for j in range(c):
            v = y[i, j]
            if has_bias:
                v = v + bias[j]
            if has_scale:
                v = v * scale_w[j] + scale_b[j]
            if has_res:
                v = v + residual[i, j]
            y[i, j] = activate(v, act)
