"""Depthwise convolution fused with batch norm and activation.

Computes ``y[n, oy, ox, c] = act((sum_{ky, kx} relu?(x[n, s*oy - pt + ky, s*ox - pl + kx, c])
* w[ky, kx, c] - mean[c]) * inv[c] + offset[c])`` (input ReLU and batch norm optional), reading
each input row once per output row and writing each output once. NumPy reference:
``depthwise_conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (KH*KW passes over
shifted slices, then the batch norm and activation as further passes) and
``depthwise_conv2d_naive``.

Design: channels innermost, so the multiply-adds vectorise over C (NHWC). Every
depthwise filter in the nets is 3x3, which gets its own kernel, ``depthwise3x3``, in
runs of consecutive output rows (``depthwise3x3_rows``, shared with the fused separable
convs). Where C is a multiple of 16 and the stride 1 or 2 (every layer of
the nets), the row's sums are ``depthwise_ir.py``'s: the three input rows repacked in
padded channel blocks (kept in a ring of three, as the next output row reads two of
them again), then nine weight vectors in registers per block of channels and four
pixels summed at once. Otherwise the numba loop: the three input rows picked once (a
row of zeros stands in for one above or below the image), each interior output pixel
one expression of nine products per channel, summed in (ky, kx) order and written once;
the first and last columns, where a tap may fall outside, take the branchy path. The
batch norm and activation follow, a pass over the row while it is in L1
(``finish_row``), but for MobileNet's batch norm and ReLU6, which the IR rows apply as
they store their sums (``blocked_sums``: the pass cost as much as the sums).
``depthwise3x3_rows`` is a compiled function of its own with ``contract``, as its callers
(this kernel and the separable ones) have, so it rounds as it did inlined in them, and
its callers do not each compile a copy of it (see ``gemm.py``). Other filter sizes
go through the general ``depthwise_conv2d`` (an accumulator row, bounds checks per
tap).

The IR rows against the numba loop, the kernel alone (2 cores, medians of 200, two
rounds, us): (8, 56, 56, 32) with the input ReLU 162-182 against 284-479, (8, 28, 28,
64) 100-105 against 166-226, (1, 56, 56, 32) 33-39 against 45-77, (8, 14, 14, 128)
60-68 against 77-100; on one core 1.1-1.45 cycles an output value against 2.0-3.1.
The same values, but at the edges of a padded conv, where the padded taps now add
zeros to the sum in the interior's order (the numba loop sums an edge pixel's taps in
another order): over 8 test shapes, |difference| <= 2.4e-7 of the largest output.

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

Earlier attempts at the interior, before the layout change: a version in LLVM IR
reading the rows where they lie (eight channels a vector, the nine weight vectors and
the batch norm's in registers for a row, one pixel at a time) gained nothing measurable
in whole nets (SSD 38.0-39.8 against 39.3-41.0 ms, separate processes); numba rewrites
with four output pixels per channel loop (56x56x32 74 -> 92 us) or the rows as flat
arrays indexed ``(ox + kx) * C + c`` (67 -> 446 us: no longer vectorised) lost. What
held them back was the numba loop over the row's pixels around the interior, and
run-time tap offsets (see ``depthwise_ir.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .depthwise_ir import (
    VW,
    block_row,
    block_row_relu,
    interior_s1,
    interior_s1_bn_relu6,
    interior_s2,
    interior_s2_bn_relu6,
)
from .epilogue import activate
from .scratch import zeros2d

#: Output rows a thread of ``depthwise3x3`` takes at a time (their input rows repacked
#: once each, but the run's first two).
RUN = 8


@njit(inline="always")
def row_ring(x):
    """A ring of three input rows of ``x`` repacked for :func:`depthwise3x3_rows`:
    (buffer, held), room for padding of up to 2 each side (more runs the numba loop)."""
    return np.empty(3 * (x.shape[2] + 4) * x.shape[3], np.float32), np.full(3, -1, np.int64)


@njit(inline="always")
def row_key(b, iy):
    """The key a ring's slot holds for row ``iy`` of image ``b`` (never -1, an empty slot's)."""
    return b * (1 << 32) + iy + (1 << 31)


#: What :func:`ring_slot` says to do with a slot: nothing (it holds the row already) ...
HELD = 0
#: ... make the row there ...
MAKE = 1
#: ... or zero it (the row lies outside the image).
ZERO = 2


@njit(inline="always")
def ring_slot(held, b, iy, h):
    """The slot (of a ring of three) where row ``iy`` of image ``b`` goes, and what to do
    there: :data:`HELD` if the slot holds it already (``held``, one :func:`row_key` a
    slot), :data:`ZERO` if it lies outside the image's ``h`` rows, else :data:`MAKE`.
    Takes no ring, only its keys: an array handed to an inlined helper costs its
    references' atomic counts on every call (see :func:`depthwise3x3_rows`)."""
    slot = iy % 3
    key = row_key(b, iy)
    if held[slot] == key:
        return slot, HELD
    held[slot] = key
    return slot, (MAKE if 0 <= iy < h else ZERO)


@njit(inline="always")
def ring_rows(base, iy0, size):
    """The addresses of rows ``iy0``, ``iy0 + 1``, ``iy0 + 2`` in a ring of three slots of
    ``size`` floats at address ``base`` (:func:`ring_slot`'s slots)."""
    s0 = iy0 % 3
    s1 = s0 + 1 if s0 < 2 else 0
    s2 = s1 + 1 if s1 < 2 else 0
    return base + 4 * size * s0, base + 4 * size * s1, base + 4 * size * s2


@njit(inline="always")
def blocked_fits(x, w, stride, wp, blocked, o):
    """Whether a depthwise row of ``x`` by ``w`` into ``o`` (Wo, C) runs by
    ``depthwise_ir.py``: channels in whole vectors, stride 1 or 2, a ring ``blocked``
    large enough for three rows of ``wp`` padded columns, and the arrays' channels
    contiguous (the IR takes addresses and row strides only)."""
    c = x.shape[3]
    fits = c % VW == 0 and stride <= 2 and blocked.shape[0] >= 3 * wp * c
    fits = fits and o.strides[1] == 4 and w.strides[2] == 4 and w.strides[1] == 4 * c
    return fits and w.strides[0] == 12 * c and x.strides[3] == 4 and x.strides[2] == 4 * c


@njit(nogil=True, fastmath={"contract"})
def depthwise3x3_rows(
    x, w, stride, pad_top, pad_left, ho, mean, inv, offset, act, relu_input, zero_row,
    blocked, held, r0, r1, o,
):  # fmt: skip
    """Output rows ``r0 .. r1`` (of N*Ho) of the 3x3 depthwise conv into ``o``
    ((r1 - r0) * Wo, C), row after row.

    Shared by :func:`depthwise3x3` (a run of rows) and the fused separable convs
    (``separable.py``: a tile's rows into its buffer; ``separable_pair.py``: one row);
    arguments as :func:`depthwise_conv2d`'s, ``zero_row`` a (W, C) row of zeros,
    ``blocked`` (>= 3*Wp*C) and ``held`` (3,) int64, -1 at first, the caller's ring of
    input rows repacked in channel blocks (:func:`row_ring`), kept from one call to the
    next (it is keyed by image and row).

    Where the channels fill ``depthwise_ir.py``'s vectors (every layer of the nets), each
    row's three input rows are made in the ring unless it holds them, and its sums are
    the IR's, all by address in this one function. The loop used to call a function a
    row with the row's arrays; numba counts a reference to each array so passed (an
    atomic add and subtract, nine arrays a call). Called a tile at a time from Python,
    one core, 16 rows a call, ns a row, a call a row -> this loop: (8, 56, 56, 32)
    503-515 -> 307-313, (8, 28, 28, 64) 456-512 -> 284-360, (8, 14, 14, 128) 540-568 ->
    382-388 (the sums alone 125-210, the repacking ~80). Inside the separable kernel,
    where LLVM had inlined the row function, the planned steps of FaceLandmark68Net at
    batch 8 moved within the noise (0.209 -> 0.204, 0.158 -> 0.157, 0.129 -> 0.129,
    0.115 -> 0.117 ms); kept as the one place a ring is walked. There the depthwise half
    of a (8, 28, 28, 64) separable conv is 0.034-0.041 ms of 0.149-0.156, a third of it
    the repacking (0.028 without it); asking for the next input row ahead (``prefetcht1``)
    did not shorten it (0.040 against 0.039). Other channel counts take the numba loop,
    :func:`loop_row`, a row at a time.
    """
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    wo = o.shape[0] // (r1 - r0)
    wp = max(wd + pad_left, (wo - 1) * stride + 3)  # a ring row's padded columns
    if not blocked_fits(x, w, stride, wp, blocked, o):
        for row in range(r0, r1):
            j = (row - r0) * wo
            loop_row(
                x, w, row // ho, row % ho, stride, pad_top, pad_left, mean, inv, offset, act,
                relu_input, zero_row, o[j : j + wo],
            )  # fmt: skip
        return
    size = wp * c  # floats a ring slot holds
    ring, src, ldo = blocked.ctypes.data, x.ctypes.data, o.strides[0] // 4
    bn, fused = bn_terms(mean, inv, offset, act)
    for row in range(r0, r1):
        b = row // ho
        iy0 = (row - b * ho) * stride - pad_top
        for iy in range(iy0, iy0 + 3):  # the rows not in the ring yet (one or two)
            slot, todo = ring_slot(held, b, iy, h)
            if todo == ZERO:
                blocked[slot * size : (slot + 1) * size] = 0.0
            elif todo == MAKE:
                at = src + b * x.strides[0] + iy * x.strides[1]
                if relu_input:
                    block_row_relu(at, ring + 4 * slot * size, wd, c, wp, pad_left)
                else:
                    block_row(at, ring + 4 * slot * size, wd, c, wp, pad_left)
        a0, a1, a2 = ring_rows(ring, iy0, size)
        j = (row - r0) * wo
        blocked_sums(
            a0,
            a1,
            a2,
            wp,
            w.ctypes.data,
            stride,
            bn,
            fused,
            o.ctypes.data + 4 * j * ldo,
            ldo,
            c,
            wo,
        )
        if not fused and (mean.shape[0] > 0 or act != 0):
            finish_row(o[j : j + wo], mean, inv, offset, act)


@njit(inline="always")
def bn_terms(mean, inv, offset, act):
    """The batch norm's vectors as ``depthwise_ir.py``'s sums take them (addresses), and
    whether its stores apply them: MobileNet's batch norm then ReLU6 (``act`` 2), each
    vector contiguous; other terms are :func:`finish_row`'s."""
    fused = mean.shape[0] > 0 and act == 2
    fused = fused and mean.strides[0] == inv.strides[0] == offset.strides[0] == 4
    return (mean.ctypes.data, inv.ctypes.data, offset.ctypes.data), fused


@njit(inline="always")
def blocked_sums(a0, a1, a2, wp, w_addr, stride, bn, fused, o_addr, ldo, c, wo):
    """The sums of a depthwise output row of ``wo`` pixels and ``c`` channels (stride 1
    or 2) at address ``o_addr`` (rows ``ldo`` floats apart), from its three input rows
    at addresses ``a0``, ``a1``, ``a2`` laid out by ``depthwise_ir.block_row`` with
    ``wp`` padded columns; ``w_addr`` the (3, 3, C) filter's; ``bn``, ``fused`` as
    :func:`bn_terms` gives them."""
    args = (a0, a1, a2, wp, w_addr, o_addr, ldo, c, 0, wo, *bn)
    if fused and stride == 1:
        interior_s1_bn_relu6(*args)
    elif fused:
        interior_s2_bn_relu6(*args)
    elif stride == 1:
        interior_s1(*args)
    else:
        interior_s2(*args)


@njit(nogil=True, fastmath={"contract"})
def loop_row(
    x, w, b, oy, stride, pad_top, pad_left, mean, inv, offset, act, relu_input, zero_row, o
):  # fmt: skip
    """Output row ``oy`` of image ``b`` of the 3x3 depthwise conv into ``o`` (Wo, C) by the
    numba loop, for channel counts ``depthwise_ir.py`` does not take: the three input
    rows as they lie (``zero_row`` for one outside the image), each pixel a loop over
    channels; arguments as :func:`depthwise3x3_rows`'."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    wo = o.shape[0]
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
    finish_row(o, mean, inv, offset, act)


@njit(inline="always")
def finish_row(o, mean, inv, offset, act):
    """The batch norm (none if ``mean`` is empty) and activation of a depthwise output
    row ``o`` (Wo, C), in place, while the row is in L1."""
    if mean.shape[0] > 0:
        for ox in range(o.shape[0]):
            for ci in range(o.shape[1]):
                o[ox, ci] = activate((o[ox, ci] - mean[ci]) * inv[ci] + offset[ci], act)
    elif act != 0:
        for ox in range(o.shape[0]):
            for ci in range(o.shape[1]):
                o[ox, ci] = activate(o[ox, ci], act)


@njit(parallel=True, cache=True, fastmath={"contract"})
def depthwise3x3(
    x, w, stride, pad_top, pad_left, ho, wo, mean, inv, offset, act, relu_input, out
):  # fmt: skip
    """As :func:`depthwise_conv2d` for a 3x3 filter ``w`` (3, 3, C), in runs of
    ``RUN`` consecutive output rows (which share input rows)."""
    n, h, wd, c = x.shape
    zero_row = zeros2d(wd, c)  # stands in for rows outside the image
    rows = n * ho
    flat = out.reshape(rows * wo, c)
    for run in prange((rows + RUN - 1) // RUN):
        blocked, held = row_ring(x)
        r0, r1 = run * RUN, min(rows, (run + 1) * RUN)
        depthwise3x3_rows(
            x, w, stride, pad_top, pad_left, ho, mean, inv, offset, act, relu_input, zero_row,
            blocked, held, r0, r1, flat[r0 * wo : r1 * wo],
        )  # fmt: skip
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
