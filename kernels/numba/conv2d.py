"""Regular convolution: im2col in numba, the matrix product in BLAS, a fused epilogue.

Computes ``conv(x, w)`` with TF 'same'/'valid'/explicit padding and any stride, NHWC.
NumPy reference: ``conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (a strided
sliding-window view copied into the im2col matrix) and ``conv2d_naive``.

Design: a 1x1 stride-1 conv is one matrix product of the activation (N*H*W, C_in) with
the filter (C_in, C_out); other convs first gather each output pixel's receptive field
into a row of the im2col matrix (``im2col``, parallel over output rows, zero for padded
cells), then one product. The product runs in the BLAS NumPy links (OpenBLAS here,
multithreaded), which reaches ~80% of the machine's float32 peak on these shapes; the
bias / scale / residual / activation then go through ``epilogue.epilogue`` in one pass.

Variants tried (2-core AVX2 machine): a direct numba conv (loops over KH, KW, C_in with
C_out innermost) ran 3-5x slower than im2col + BLAS on the 3x3 convs with C >= 64; on
the 3-channel first layers, with C_out a run-time value it did not vectorise (~10
GFLOP/s), and with the filter shape compiled in as constants it beat im2col + BLAS in
isolation (Tiny Face Detector's first conv 7.9 ms against 10.9 ms) but made the whole
net slower (14.5 -> 23.7 ms median), so it was dropped. NumPy's sliding-window im2col
is ~2x slower than this kernel on the 7x7 stride-2 first conv of the recognition net.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def im2col(x, kh, kw, stride, pad_top, pad_left, ho, wo):
    """(N*Ho*Wo, KH*KW*C) matrix of receptive fields, row order (n, oy, ox), column order (ky, kx, c)."""
    n, h, w, c = x.shape
    cols = np.empty((n * ho * wo, kh * kw * c), dtype=np.float32)
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        for ox in range(wo):
            r = row * wo + ox
            for ky in range(kh):
                iy = oy * stride - pad_top + ky
                for kx in range(kw):
                    ix = ox * stride - pad_left + kx
                    base = (ky * kw + kx) * c
                    if 0 <= iy < h and 0 <= ix < w:
                        for ci in range(c):
                            cols[r, base + ci] = x[b, iy, ix, ci]
                    else:
                        for ci in range(c):
                            cols[r, base + ci] = 0.0
    return cols
