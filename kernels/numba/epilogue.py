"""The activations of the numba kernels, one value at a time, by code.

The conv epilogue is ``y = act((y + bias) * scale_w + scale_b + residual)``; the convs
apply it as their product's sums are stored (``block_ir.py``, in this order, as separate
multiplies and adds), the Winograd kernel in its output transform and the few-pixel conv as
they write their outputs (:func:`finish`), the depthwise kernel after its sums
(:func:`activate`). NumPy reference: ``NumpyBackend.conv2d``
in ``faceapi_np/backend/numpy_backend.py`` (one array operation a term). Activation
codes: 0 none, 1 relu, 2 relu6, 3 leaky (face-api.js's ``relu(x - a*x) + a*x`` form,
a = float32(0.1)).

Variants tried (SSD MobileNetV1 pointwise convs, 2 cores): per-term NumPy passes ~35 ms
per SSD forward; one pass over each conv tile in cache ~6 ms (channels innermost, so
that the loop vectorises); in the product's store, no pass at all (``gemm.py``).
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
def finish(y, bias, scale_w, scale_b, residual, p, co, act):
    """Output value ``y`` at row ``p``, channel ``co`` through the epilogue, term by term
    in ``block_ir.py``'s order (zero-length arrays: term absent)."""
    if bias.shape[0] > 0:
        y = y + bias[co]
    if scale_w.shape[0] > 0:
        y = y * scale_w[co] + scale_b[co]
    if residual.shape[0] > 0:
        y = y + residual[p, co]
    return activate(y, act)
