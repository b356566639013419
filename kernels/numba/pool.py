"""Max and average pooling with TF padding semantics.

NumPy reference: ``max_pool`` / ``avg_pool`` in ``faceapi_np/backend/numpy_backend.py``.
Max pooling ignores padded cells (TF pads with -inf); average pooling divides by the
number of cells inside the input (TF 'same' semantics). Parallel over output rows,
channels innermost. Replaces k*k NumPy passes over shifted slices and a padded copy.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


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
