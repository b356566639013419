"""The small ops around the convs: a dense layer, a spatial mean, zero padding, a sum (+ ReLU).

Computes ``dense``: ``x @ w + bias``; ``spatial_mean``: the mean of each image's map per
channel; ``pad``: a tensor placed in a zero-filled larger one; ``add``: ``a + b`` and its
optional ReLU. NumPy reference: ``Backend.dense``, ``spatial_mean``, ``pad`` and ``add`` in
``faceapi_np/backend/base.py`` (``x @ w + b``, ``np.mean``, ``np.pad``, ``np.add``).

Why kernels for such small ops: they were NumPy calls (``np.matmul``, ``np.mean``, ...),
a few us each when measured alone, but a forward pass runs them after megabytes of
activations and weights have gone through the caches, and NumPy's Python-level and
ufunc code paths then cost 10-50x their warm time (the recognition net at batch 1, in
its planned sequence, medians of 30: the mean of its (1, 2, 2, 256) map 54 us against
5 us alone, its dense layer 23 us, its two adds 24 and 11 us, its four pads 4-9 us;
143 us of NumPy in a ~3 ms pass). A compiled call is ~0.6 us there: the mean took 2 us
in the same sequence. The recognition net at batch 1, NumPy ops against these, in one
process alternating, 5 rounds of medians: 3.55-3.65 -> 3.42-3.51 ms;
FaceLandmark68TinyNet at batch 8 (its dense layer 70 us in sequence) 3.25-3.32 ->
3.23-3.27 ms.

All run on the calling thread (serial: a few us of work each). The mean, the pad and
the sum give NumPy's bits (the mean sums the pixels in order, as NumPy's reduction
over the outer axes does, and divides in float64 as ``np.mean`` does by its integer
count); the dense layer's sums are ``gemm.py``'s (in order over K, fused
multiply-adds), which differ from OpenBLAS's by float32 rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .gemm import NO_ROWS, gemm_epilogue


@njit(nogil=True, cache=True)
def dense(x, wp, bias, out):
    """``out`` (N, C_out) = ``x`` (N, K) @ w + ``bias`` for ``wp = gemm.pack(w)``; a
    zero-length ``bias`` means none. ``x`` has unit column stride."""
    none = bias[:0]
    gemm_epilogue(x, wp, out, 0, out.shape[1], bias, none, none, NO_ROWS, 0, 0)
    return out


@njit(nogil=True, cache=True)
def spatial_mean(x, out):
    """``out`` (N, C) = the mean of ``x`` (N, H, W, C) over H and W: the pixels summed in
    order in float32, then divided in float64 and rounded, as ``np.mean`` does."""
    n, h, w, c = x.shape
    count = np.float64(h * w)
    for b in range(n):
        o = out[b]
        o[:] = x[b, 0, 0]
        for p in range(1, h * w):
            row = x[b, p // w, p % w]
            for ch in range(c):
                o[ch] += row[ch]
        for ch in range(c):
            o[ch] = np.float32(np.float64(o[ch]) / count)
    return out


@njit(nogil=True, cache=True)
def pad(x, before, out):
    """``out`` = zeros with ``x`` (N, H, W, C) at offsets ``before`` (4 ints) on each axis."""
    out[:] = 0  # (its buffer may be another step's before it)
    n, h, w, c = x.shape
    b0, y0, x0, c0 = before[0], before[1], before[2], before[3]
    for b in range(n):
        for y in range(h):
            out[b0 + b, y0 + y, x0 : x0 + w, c0 : c0 + c] = x[b, y]
    return out


@njit(nogil=True, cache=True)
def add(a, b, relu, out):
    """``out`` = ``a + b`` (all the same shape, C-contiguous), then ``max(., 0)`` with
    ``relu`` (0 where 0 > the sum, else the sum: NumPy's ``maximum`` keeps -0.0 and NaN)."""
    a1, b1, o1 = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    zero = np.float32(0.0)
    if relu:
        for i in range(o1.shape[0]):
            v = a1[i] + b1[i]
            o1[i] = zero if zero > v else v
    else:
        for i in range(o1.shape[0]):
            o1[i] = a1[i] + b1[i]
    return out
