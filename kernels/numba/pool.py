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

Fused into the conv before it (``conv2d(max_pool=2)``: Tiny Face Detector's conv0 and
its first four separable convs): the conv's kernel pools each pair of output rows as
it stores them, by ``pool2x2_row``, and its output never goes to memory. Measured in
one process, the fused and the separate pools alternating (2 cores, medians of 200
passes): Tiny Face Detector 3.46 -> 3.26 ms; per layer, conv0 and its pool 1.16 ->
1.10 ms, the (1, 207, 207, 16) separable conv and its pool 0.67 -> 0.66. Variants
that lost: the whole tile's output in a buffer, pooled after (it and the tile's
depthwise rows overflowed L2: the 207x207 layer 0.70 -> 0.98 ms); the channel loop
over a block of channels from a run-time start (a wraparound test on every index, the
loop left scalar: 0.66 -> 1.01 ms), so a pooled conv has no channel blocks.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always")
def pool2x2_row(r0, r1, stride, is_max, o):
    """One output row ``o`` (Wo, C): max or mean over the 2x2 windows at ``stride`` of
    input rows ``r0`` and ``r1`` (W, C; the same row twice where the second is past the
    input). A column past the last reads the last one.

    Also the pool fused into a conv's store (``conv2d.py``, ``separable.py``): the
    conv's output rows, still in cache, pooled by this same code. The channel loop runs
    from 0 over whole rows: over a block of channels from a run-time start the compiler
    could not rule out negative indices, and their wraparound tests kept it scalar (a
    fused pool 2.2x slower).
    """
    w, c = r0.shape
    quarter = np.float32(0.25)  # exact: the same as dividing by 4, in the same order
    for ox in range(o.shape[0]):
        i0 = ox * stride
        i1 = min(i0 + 1, w - 1)
        if is_max:
            for ci in range(c):
                o[ox, ci] = max(max(r0[i0, ci], r0[i1, ci]), max(r1[i0, ci], r1[i1, ci]))
        else:
            for ci in range(c):
                o[ox, ci] = (((r0[i0, ci] + r0[i1, ci]) + r1[i0, ci]) + r1[i1, ci]) * quarter


@njit(parallel=True, cache=True)
def pool2x2(x, stride, ho, wo, is_max, out):
    """``out`` (N, Ho, Wo, C) = max or mean over 2x2 windows at ``stride``, no padding
    before; returns ``out``.

    Cells past the input's last row / column read the last one: right for the max,
    and the caller sends averages here only when no window is clipped.
    """
    n, h, w, c = x.shape
    for row in prange(n * ho):
        b = row // ho
        iy = (row % ho) * stride
        pool2x2_row(x[b, iy], x[b, min(iy + 1, h - 1)], stride, is_max, out[b, row % ho])
    return out


@njit(inline="always")
def _window3x3(r0, r1, r2, a, is_max, o):
    """``o`` (C,) = max or mean of the 3x3 window at column ``a`` of rows ``r0``-``r2``
    (W, C), in (ky, kx) order: one expression per channel, as ``pool2x2_row`` (the
    recognition net's 3x3 / 2 max pool: see ``pool2d``)."""
    ninth = np.float32(9.0)
    for ci in range(o.shape[0]):
        if is_max:
            o[ci] = max(
                max(max(r0[a, ci], r0[a + 1, ci]), max(r0[a + 2, ci], r1[a, ci])),
                max(
                    max(r1[a + 1, ci], r1[a + 2, ci]),
                    max(r2[a, ci], max(r2[a + 1, ci], r2[a + 2, ci])),
                ),
            )
        else:
            o[ci] = (
                r0[a, ci] + r0[a + 1, ci] + r0[a + 2, ci] + r1[a, ci] + r1[a + 1, ci]
                + r1[a + 2, ci] + r2[a, ci] + r2[a + 1, ci] + r2[a + 2, ci]
            ) / ninth  # fmt: skip


@njit(parallel=True, cache=True)
def pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max, out):
    """``out`` (N, Ho, Wo, C) = max (``is_max``) or mean over each k x k window's
    in-input cells; returns ``out``.

    Each output pixel starts as its window's first cell inside the input and takes the
    others in (ky, kx) order, in place: the same sums as from zero (0 + a = a), with no
    accumulator row allocated per output row; a whole 3x3 window is one expression per
    channel (``_window3x3``). The recognition net's 3x3 / 2 max pool, against the former
    loop (an accumulator row, from -inf or 0; the kernel alone, 2 cores, medians of
    1000): (1, 72, 72, 32) 46 -> 20 us, (8, 72, 72, 32) 341 -> 108 us. Same values.
    """
    n, h, w, c = x.shape
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        o = out[b, oy]
        y0 = max(0, oy * stride - pad_top)
        y1 = min(h, oy * stride - pad_top + k)
        for ox in range(wo):
            x0 = max(0, ox * stride - pad_left)
            x1 = min(w, ox * stride - pad_left + k)
            if k == 3 and y1 - y0 == 3 and x1 - x0 == 3:  # a whole 3x3 window: one expression
                _window3x3(x[b, y0], x[b, y0 + 1], x[b, y0 + 2], x0, is_max, o[ox])
                continue
            first = x[b, y0, x0]
            for ci in range(c):
                o[ox, ci] = first[ci]
            for iy in range(y0, y1):
                for ix in range(x0, x1):
                    if iy == y0 and ix == x0:
                        continue
                    cell = x[b, iy, ix]
                    if is_max:
                        for ci in range(c):
                            o[ox, ci] = max(o[ox, ci], cell[ci])
                    else:
                        for ci in range(c):
                            o[ox, ci] += cell[ci]
            if not is_max:
                count = np.float32((y1 - y0) * (x1 - x0))
                for ci in range(c):
                    o[ox, ci] = o[ox, ci] / count
    return out
