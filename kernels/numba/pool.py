"""Max and average pooling with TF padding semantics.

NumPy reference: ``max_pool`` / ``avg_pool`` in ``faceapi_np/backend/numpy_backend.py``.
Max pooling ignores padded cells (TF pads with -inf); average pooling divides by the
number of cells inside the input (TF 'same' semantics). Parallel over output rows,
channels innermost.

Design: the 2x2 windows the nets use (Tiny Face Detector's six pools, the recognition
net's shortcut) take a fast path, ``pool2x2``: each output value is ``max`` (or the mean)
of four loads written as one expression, so the channel loop vectorises with no
accumulator array and no branch. A cell past the last row or column is clamped onto the
last one, which cannot change a maximum; 'same' padding of a 2x2 window never pads
before, so that is the only padding there is. Averages take the fast path only when no
window is clipped (divisor 4). Everything else goes through the general ``pool2d``.

Variants tried (one core, CPU time, min of 30): Tiny Face Detector's first pool,
(1, 414, 414, 16) -> (1, 207, 207, 16): general kernel (accumulator row, runtime k x k
tap loops with bounds checks) 1.32 ms; ``pool2x2`` 0.29 ms; a two-pass variant (vertical
max of the two rows into a buffer, then horizontal pairs) 0.32 ms. (1, 207, 207, 32):
0.34 / 0.10 / 0.14 ms. The one-expression form won and is kept.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def pool2x2(x, stride, ho, wo, is_max):
    """(N, Ho, Wo, C) max or mean over 2x2 windows at ``stride``, no padding before.

    Cells past the input's last row / column read the last one: right for the max,
    and the caller sends averages here only when no window is clipped.
    """
    n, h, w, c = x.shape
    out = np.empty((n, ho, wo, c), dtype=np.float32)
    quarter = np.float32(0.25)  # exact: the same as dividing by 4, in the same order
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        iy = oy * stride
        r0 = x[b, iy]
        r1 = x[b, min(iy + 1, h - 1)]
        o = out[b, oy]
        for ox in range(wo):
            i0 = ox * stride
            i1 = min(i0 + 1, w - 1)
            if is_max:
                for ci in range(c):
                    o[ox, ci] = max(max(r0[i0, ci], r0[i1, ci]), max(r1[i0, ci], r1[i1, ci]))
            else:
                for ci in range(c):
                    o[ox, ci] = (((r0[i0, ci] + r0[i1, ci]) + r1[i0, ci]) + r1[i1, ci]) * quarter
    return out


@njit(parallel=True, cache=True)
def pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max):
    """(N, Ho, Wo, C) max (``is_max``) or mean over each k x k window's in-input cells."""
    n, h, w, c = x.shape
    out = np.empty((n, ho, wo, c), dtype=np.float32)
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        acc = np.empty(c, dtype=np.float32)
        for ox in range(wo):
            if is_max:
                acc[:] = -np.inf
            else:
                acc[:] = 0.0
            count = 0
            for ky in range(k):
                iy = oy * stride - pad_top + ky
                if iy < 0 or iy >= h:
                    continue
                for kx in range(k):
                    ix = ox * stride - pad_left + kx
                    if ix < 0 or ix >= w:
                        continue
                    count += 1
                    if is_max:
                        for ci in range(c):
                            acc[ci] = max(acc[ci], x[b, iy, ix, ci])
                    else:
                        for ci in range(c):
                            acc[ci] += x[b, iy, ix, ci]
            if is_max:
                for ci in range(c):
                    out[b, oy, ox, ci] = acc[ci]
            else:
                for ci in range(c):
                    out[b, oy, ox, ci] = acc[ci] / np.float32(count)
    return out
