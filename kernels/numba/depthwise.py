"""Depthwise convolution fused with batch norm and activation.

Computes ``y[n, oy, ox, c] = act((sum_{ky, kx} relu?(x[n, s*oy - pt + ky, s*ox - pl + kx, c])
* w[ky, kx, c] - mean[c]) * inv[c] + offset[c])`` (input ReLU and batch norm optional), reading
each input row once per output row and writing each output once. NumPy reference:
``depthwise_conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (KH*KW passes over
shifted slices, then the batch norm and activation as further passes) and
``depthwise_conv2d_naive``.

Design: parallel over (image, output row); channels innermost, so the multiply-adds
vectorise over C (NHWC). Every depthwise filter in the nets is 3x3, which gets its own
kernel, ``depthwise3x3``: the three input rows of an output row are picked once (a row of
zeros stands in for one above or below the image), and each interior output pixel is one
expression of nine products per channel, summed in the reference's (ky, kx) order and
written once; only the first and last columns, where a tap may fall outside, take the
branchy path. The batch norm and activation follow per pixel while it is in L1. Other
filter sizes go through the general ``depthwise_conv2d`` (an accumulator row, bounds
checks per tap).

Variants tried (one core, CPU time, min of 30): SSD's first layer (1, 256, 256, 32),
stride 1, batch norm + ReLU6: NumPy shifted slices + separate passes ~110 ms for all 13
SSD layers against ~12 ms for the general kernel; the general kernel 3.45 ms, the 3x3
kernel 2.13 ms. Tiny Face Detector's (1, 207, 207, 16): 1.62 -> 0.74 ms; a dense block's
(8, 56, 56, 32) with the input ReLU: 1.09 -> 0.61 ms (a first try lost most of that by
comparing float32 values with a float64 ``0.0``, which widens the whole sum). A variant
with the tap loops innermost (per channel) was ~3x slower than the general kernel, as it
does not vectorise. The edge columns branch on the input ReLU outside their channel loop:
with the branch inside, SSD's last layer (1, 16, 16, 1024), where 2 of 16 columns are
edges, ran scalar there, 0.66 ms against 0.35 ms (the general kernel: 0.23 ms; over all
13 SSD layers the 3x3 kernel takes 8.3 ms against 10.9 ms).

A version of the interior in LLVM IR (as ``block_ir.py``; eight channels a vector, the
nine weight vectors and the batch norm's kept in registers for a row, the batch norm and
activation fused, the same bits out) gained nothing measurable: whole nets in separate
processes, alternating, best of 15, three rounds (ms): SSD 38.0-39.8 against 39.3-41.0,
Tiny Face Detector 3.61-3.68 against 3.75-6.16, FaceLandmark68Net at batch 8 6.40-6.80
against 6.63-7.92. Alone the kernel is bound by memory, and in the fused separable conv
the 1x1 product's time dominates. Dropped.

Alone on one core the interior runs at ~2.5 cycles an output value on the dense blocks'
maps (56x56x32 to 7x7x256, in L2), against ~1 that its loads would allow. Two rewrites
measured (one core, medians of 1000-2000 calls, same bits): four output pixels per
channel loop, their taps' loads shared and four sums in flight (56x56x32 74 -> 92 us,
14x14x128 15.7 -> 15.5 us: the FMA chain's latency is not what limits it); the rows as
flat arrays indexed ``(ox + kx) * C + c`` (56x56x32 67 -> 446 us: no longer vectorised).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .epilogue import activate


@njit(inline="always")
def _read(v, relu):
    """One input value, through a ReLU when ``relu``."""
    return max(v, np.float32(0.0)) if relu else v


@njit(inline="always")
def depthwise3x3_row(
    x, w, b, oy, stride, pad_top, pad_left, mean, inv, offset, act, relu_input, zero_row, o
):
    """Output row ``oy`` of image ``b`` of the 3x3 depthwise conv into ``o`` (Wo, C).

    The body of :func:`depthwise3x3`, shared with the fused separable conv
    (``separable.py``), which writes the row into its tile buffer instead; arguments as
    :func:`depthwise_conv2d`'s, ``zero_row`` a (W, C) row of zeros.
    """
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    wo = o.shape[0]
    has_bn = mean.shape[0] > 0
    z = np.float32(0.0)  # a float64 0.0 would widen every sum below to float64
    iy = oy * stride - pad_top
    r0 = x[b, iy] if 0 <= iy < h else zero_row
    r1 = x[b, iy + 1] if 0 <= iy + 1 < h else zero_row
    r2 = x[b, iy + 2] if 0 <= iy + 2 < h else zero_row
    for ox in range(wo):
        a = ox * stride - pad_left
        if a >= 0 and a + 2 < wd:  # all nine taps inside: one expression per channel
            if relu_input:
                for ci in range(c):
                    o[ox, ci] = (
                        max(r0[a, ci], z) * w[0, 0, ci]
                        + max(r0[a + 1, ci], z) * w[0, 1, ci]
                        + max(r0[a + 2, ci], z) * w[0, 2, ci]
                        + max(r1[a, ci], z) * w[1, 0, ci]
                        + max(r1[a + 1, ci], z) * w[1, 1, ci]
                        + max(r1[a + 2, ci], z) * w[1, 2, ci]
                        + max(r2[a, ci], z) * w[2, 0, ci]
                        + max(r2[a + 1, ci], z) * w[2, 1, ci]
                        + max(r2[a + 2, ci], z) * w[2, 2, ci]
                    )
            else:
                for ci in range(c):
                    o[ox, ci] = (
                        r0[a, ci] * w[0, 0, ci]
                        + r0[a + 1, ci] * w[0, 1, ci]
                        + r0[a + 2, ci] * w[0, 2, ci]
                        + r1[a, ci] * w[1, 0, ci]
                        + r1[a + 1, ci] * w[1, 1, ci]
                        + r1[a + 2, ci] * w[1, 2, ci]
                        + r2[a, ci] * w[2, 0, ci]
                        + r2[a + 1, ci] * w[2, 1, ci]
                        + r2[a + 2, ci] * w[2, 2, ci]
                    )
        else:  # first / last column: skip the taps outside
            for ci in range(c):
                o[ox, ci] = 0.0
            for kx in range(3):
                ix = a + kx
                if ix < 0 or ix >= wd:
                    continue
                if relu_input:  # branch outside the channel loop, so that it vectorises
                    for ci in range(c):
                        o[ox, ci] += (
                            max(r0[ix, ci], z) * w[0, kx, ci] + max(r1[ix, ci], z) * w[1, kx, ci]
                        ) + max(r2[ix, ci], z) * w[2, kx, ci]
                else:
                    for ci in range(c):
                        o[ox, ci] += (r0[ix, ci] * w[0, kx, ci] + r1[ix, ci] * w[1, kx, ci]) + r2[
                            ix, ci
                        ] * w[2, kx, ci]
        if has_bn:
            for ci in range(c):
                o[ox, ci] = activate((o[ox, ci] - mean[ci]) * inv[ci] + offset[ci], act)
        elif act != 0:
            for ci in range(c):
                o[ox, ci] = activate(o[ox, ci], act)


@njit(parallel=True, cache=True, fastmath={"contract"})
def depthwise3x3(
    x, w, stride, pad_top, pad_left, ho, wo, mean, inv, offset, act, relu_input, out
):  # fmt: skip
    """As :func:`depthwise_conv2d` for a 3x3 filter ``w`` (3, 3, C)."""
    n, h, wd, c = x.shape
    zero_row = np.zeros((wd, c), dtype=np.float32)  # stands in for rows outside the image
    for row in prange(n * ho):
        b = row // ho
        oy = row % ho
        o = out[b, oy]
        depthwise3x3_row(
            x, w, b, oy, stride, pad_top, pad_left, mean, inv, offset, act, relu_input, zero_row, o
        )
    return out


@njit(parallel=True, cache=True)
def depthwise_conv2d(
    x, w, stride, pad_top, pad_left, ho, wo, mean, inv, offset, act, relu_input, out
):  # fmt: skip
    """``out`` (N, Ho, Wo, C) = the depthwise conv of x (N, H, W, C) by w (KH, KW, C);
    returns ``out``. Zero-length ``mean`` means no batch norm; with ``relu_input`` each
    input value goes through a ReLU as it is read."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[0], w.shape[1]
    has_bn = mean.shape[0] > 0
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
