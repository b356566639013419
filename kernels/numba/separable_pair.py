"""Two depthwise-separable convolutions run depth first: the first one's output a few rows at a time.

Computes ``y = sep2(sep1(x))`` where each ``sep`` is ``separable.py``'s separable conv
(3x3 depthwise conv, batch norm, activation, 1x1 conv, bias, activation); ``sep1`` has
stride 1, ``sep2`` stride 1 or 2. NumPy reference: two calls of
``Backend.separable_conv2d``.

Why: on SSD's first layers the activations are large (``sep1``'s output (1, 256, 256,
64) is 16 MiB, more than the L3 a core gets), so the separable kernels spend about a
third of their time waiting on memory: one writes its output to memory and the next one
reads it back. Run over a map 1/8 as high (which stays in cache), times 8, the
first pair's layers took 2.09 and 2.00 ms against 3.29 and 2.69 (2 cores, min of 30).

Design (``separable_pair``): numba's threads split ``sep2``'s output rows (of N*Ho)
into one contiguous run each. For each of its rows a thread needs three rows of
``sep1``'s output; it keeps them in a ring of three, laid out as ``depthwise_ir.py``
reads its input rows (padded channel blocks), so ``sep2``'s depthwise sums read them
as they are. A row not yet in the ring is made there: ``sep1``'s depthwise row
(``depthwise.depthwise3x3_rows``, as the separable kernel's, with its ring of repacked
input rows) and its 1x1 product, stored straight into the ring slot's channel blocks
(``gemm.gemm_to_blocks``; the slots' padding columns are zeroed once). Then
``sep2``'s depthwise row from the ring (``depthwise.blocked_sums``) and
its product go to the output. Everything but ``x`` and the output stays in L2 (~0.5 MiB
a thread for SSD's first pair); rows are computed again only where two threads' runs
meet (one or two rows). Each value is summed as the two separate kernels sum it
(the same row functions, the same products), so the output is theirs bit for bit; the
depthwise rows are computed in functions compiled with ``fastmath={"contract"}`` and the
products without, as in ``separable.py``.

Measured (2 cores, min of 30 calls, ms, random weights with MobileNet's terms; the two
separable kernels / this one): SSD's pairs 1-2, (1, 256, 256, 32) -> 64 -> 128 at
stride 2, 4.97 / 3.84 and 4.96 / 4.29; pairs 3-4, (1, 128, 128, 128) -> 128 -> 256,
4.94 / 4.55 and 4.98 / 4.56; pairs 5-6, (1, 64, 64, 256) -> 256 -> 512, whose 4 MiB map
stays in cache, 4.11 / 4.35 and 4.20 / 4.77: lost then (with the repacking below; they
gained once it was gone, and lost again once the single kernels improved: see
``numba_tiling.DEPTH_FIRST_MIN_FLOATS``); two images of
(40, 40, 32) -> 64 -> 64: 0.32 / 0.32. Two threads against one: 1.90x on the
first pair, 1.96-2.05x on the second. Whole SSD, eager, the pairs on and off alternating
in one process, 8 rounds: medians 43.2 ms off, 41.2 ms on.

The first conv's products first went into a row buffer, then ``block_row`` repacked
them into the ring. Stored straight into the ring (the same values; in one process,
the old kernel and this one alternating on SSD's planned pairs, after the steps before
them, medians of 15, two runs, ms): pairs 1-2 3.91 -> 3.65 and 4.08 -> 3.91, pairs 3-4
4.73 -> 4.41 and 5.14 -> 5.00.

A stem (``Backend.separable_chain``'s: SSD's first conv, 3 channels, stride 2, whose 8
MiB output the first pair read back): each of its output rows is made when the first
conv's depthwise sums first need it, by the few-channel conv's own steps (its input
rows copied with their padding and normalisation, ``conv2d.padded_rows``, those it
shares with the stem row made before it moved up instead of copied again; the product
over the taps' offsets, ``gemm.gemm_rows_to_blocks``, the same sums as
``gemm.gemm_rows_at``), stored straight into a second ring of three in channel blocks,
which those sums read as the second conv's read the first ring. In SSD's planned
sequence, the two trees in separate processes alternating, 4 rounds (ms): the first
conv then the first pair 4.16-4.50 (conv 0.92-1.08, pair 3.23-3.51) -> 3.82-3.94 as one
kernel; the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .conv2d import padded_rows
from .depthwise import (
    MAKE,
    ZERO,
    blocked_sums,
    bn_terms,
    depthwise3x3_rows,
    finish_row,
    ring_rows,
    ring_slot,
    row_key,
    row_ring,
)
from .depthwise_ir import VW
from .gemm import gemm_epilogue, gemm_rows_to_blocks, gemm_to_blocks
from .scratch import any_not_one, zeros2d


@njit(nogil=True, cache=True, fastmath={"contract"})
def _ring_depthwise(a0, a1, a2, wp, w, stride, mean, inv, offset, act, o):
    """A depthwise row into ``o`` (Wo, C) from three blocked rows of a ring (a conv's
    outputs) at addresses ``a0``, ``a1``, ``a2``."""
    wo, c = o.shape
    bn, fused = bn_terms(mean, inv, offset, act)
    blocked_sums(
        a0, a1, a2, wp, w.ctypes.data, stride, bn, fused, o.ctypes.data, o.strides[0] // 4, c, wo
    )
    if not fused:
        finish_row(o, mean, inv, offset, act)


def scratch_floats(
    w: int, c: int, mid: int, wo: int, pad_left: int, stride: int, stem_rows: int = 0
) -> int:
    """Floats of scratch a thread of :func:`separable_pair` needs for an input ``w``
    pixels wide with ``c`` channels (the stem's output, with a stem), ``mid`` channels
    between the convs and ``wo`` output columns; ``stem_rows`` the floats of a stem's
    input rows (:func:`stem_floats`), 0 without a stem."""
    ring1 = 3 * _padded_width(w, w, 1, 1) * c if stem_rows else 0  # the stem's rows
    return w * c + 3 * _padded_width(w, wo, pad_left, stride) * mid + wo * mid + ring1 + stem_rows


def stem_floats(kh: int, padded_width: int, cin: int) -> int:
    """Floats of a stem's input rows: ``kh`` rows of ``padded_width`` pixels."""
    return kh * padded_width * cin


@njit(inline="always")
def _padded_width(w, wo, pad_left, stride):
    """Columns of a blocked row of the first conv's output, padding included."""
    return max(w + pad_left, (wo - 1) * stride + 3)


@njit(parallel=True, nogil=True, cache=True)
def separable_pair(
    x,
    stem_w,
    stem_koff,
    stem_norm,
    stem_kh,
    stem_stride,
    stem_pad_top,
    stem_pad_left,
    stem_h,
    stem_w_out,
    stem_bias,
    stem_act,
    w1,
    pad1_top,
    pad1_left,
    mean1,
    inv1,
    offset1,
    dact1,
    relu1,
    pw1,
    bias1,
    act1,
    w2,
    stride2,
    pad2_top,
    pad2_left,
    ho,
    wo,
    mean2,
    inv2,
    offset2,
    dact2,
    pw2,
    scratch,
    bias2,
    scale_w2,
    scale_b2,
    residual2,
    act2,
    out,
):
    """``out`` (N*Ho*Wo, C_out) = sep2(sep1(stem(x))), depth first (see the module).

    The stem, if ``stem_koff`` has values: a conv of an input with few channels, as
    ``conv2d.conv2d_few_channels`` computes it: ``stem_w`` its (KH*KW*C_in, C1) filter
    packed by ``gemm.pack`` (C1 a multiple of 16), ``stem_koff`` its taps' offsets,
    ``stem_norm`` the input normalisation's rows (no rows: none), ``stem_kh``,
    ``stem_stride``, ``stem_pad_top``, ``stem_pad_left`` its geometry, (``stem_h``,
    ``stem_w_out``) its output's height and width, ``stem_bias`` and ``stem_act`` its
    epilogue; without a stem, ``x`` is sep1's input. Each row of the stem's output is
    made when sep1 first needs it, straight into a ring of three in the channel blocks
    sep1's depthwise sums read.

    ``x`` (N, H, W, C). The first conv (stride 1): ``w1`` (3, 3, C), its batch norm
    ``mean1``, ``inv1``, ``offset1`` and activation code ``dact1``, ``relu1`` an input
    ReLU (as ``depthwise.depthwise3x3``'s; none with a stem), ``pw1`` its (C, M) 1x1
    filter packed by ``gemm.pack``, ``bias1`` and ``act1`` after it. The second: the
    same for ``w2`` (3, 3, M) at ``stride2``, ``pw2`` (M, C_out), and the epilogue terms
    ``bias2`` .. ``act2`` as ``conv2d.conv2d``'s. ``scratch`` (T, >=
    :func:`scratch_floats`): T threads. Needs M a multiple of ``depthwise_ir.VW``.
    """
    n = x.shape[0]
    stem = stem_koff.shape[0] > 0
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    if stem:
        h, wd, c = stem_h, stem_w_out, w1.shape[2]
    cin = x.shape[3]
    mid = w2.shape[2]
    cout = out.shape[1]
    rows = n * ho
    wp = _padded_width(wd, wo, pad2_left, stride2)
    wp1 = _padded_width(wd, wd, pad1_left, 1)  # a blocked row of the stem's output
    nthreads = scratch.shape[0]
    zero_row = zeros2d(wd, c)  # stands in for rows outside the image
    # the stem's input rows: padded as the few-channel conv pads them
    xrows = x.reshape(n, x.shape[1], x.shape[2] * cin)
    stem_kw = stem_koff.shape[0] // (stem_kh * cin) if stem else 0
    wpad0 = (wd - 1) * stem_stride + stem_kw
    copy0 = min(x.shape[2], wpad0 - stem_pad_left) * cin
    divide = stem_norm.shape[0] > 0 and any_not_one(stem_norm[2])
    # stride 1 and channel 0 typed int64, as separable3x3 passes them to depthwise3x3_rows
    # and gemm_epilogue: a literal 1 or 0 would have numba compile those a second time
    stride1, first = np.int64(1), np.int64(0)
    for t in prange(nthreads):
        buf = scratch[t]
        cols1 = buf[: wd * c].reshape(wd, c)
        at = wd * c
        ring = buf[at : at + 3 * wp * mid]
        ring[:] = 0.0  # the padding columns, which the products never write
        at += 3 * wp * mid
        cols2 = buf[at : at + wo * mid].reshape(wo, mid)
        at += wo * mid
        ring1 = buf[at : at + (3 * wp1 * c if stem else 0)]
        ring1[:] = 0.0
        at += ring1.shape[0]
        pad0 = buf[at : at + (stem_kh * wpad0 * cin if stem else 0)]
        pad0 = pad0.reshape(-1, max(1, wpad0 * cin))
        blocked, held = row_ring(x)  # the first conv's input rows, repacked
        kept = np.full(3, -1, np.int64)  # which of the first conv's rows each slot holds
        kept1 = np.full(3, -1, np.int64)  # which of the stem's rows each slot of ring1 holds
        window = -1  # the row_key of the stem row whose input rows pad0 holds
        for row in range(t * rows // nthreads, (t + 1) * rows // nthreads):
            b, oy = row // ho, row % ho
            iy0 = oy * stride2 - pad2_top
            for iy in range(iy0, iy0 + 3):
                slot, todo = ring_slot(kept, b, iy, h)
                if todo == ZERO:  # sep2's padding rows
                    ring[slot * wp * mid : (slot + 1) * wp * mid] = 0.0
                if todo != MAKE:
                    continue
                dst = ring.ctypes.data + 4 * slot * wp * mid
                if stem:
                    jy0 = iy - pad1_top  # the stem rows this row's depthwise sums read
                    for jy in range(jy0, jy0 + 3):
                        slot1, todo1 = ring_slot(kept1, b, jy, h)
                        if todo1 == ZERO:
                            ring1[slot1 * wp1 * c : (slot1 + 1) * wp1 * c] = 0.0
                        if todo1 != MAKE:
                            continue
                        dst1 = ring1.ctypes.data + 4 * slot1 * wp1 * c
                        # the input rows of stem row jy, padded: those it shares with
                        # row jy - 1 (in pad0 if that row was the last made) moved up,
                        # only the others copied from the input
                        iy_in = jy * stem_stride - stem_pad_top
                        keep = max(stem_kh - stem_stride, 0) if window == row_key(b, jy - 1) else 0
                        for r in range(keep):
                            pad0[r] = pad0[r + stem_stride]
                        padded_rows(
                            xrows, b, iy_in + keep, stem_pad_left * cin, copy0, stem_norm,
                            divide, pad0[keep:],
                        )  # fmt: skip
                        window = row_key(b, jy)
                        gemm_rows_to_blocks(
                            pad0.ctypes.data, stem_stride * cin, stem_koff, stem_w, dst1,
                            pad1_left * VW, wp1, c, wd, stem_bias, stem_act,
                        )  # fmt: skip
                    a0, a1, a2 = ring_rows(ring1.ctypes.data, jy0, wp1 * c)
                    _ring_depthwise(
                        a0, a1, a2, wp1, w1, stride1, mean1, inv1, offset1, dact1, cols1
                    )  # fmt: skip
                else:
                    depthwise3x3_rows(
                        x, w1, stride1, pad1_top, pad1_left, h, mean1, inv1, offset1, dact1,
                        relu1, zero_row, blocked, held, b * h + iy, b * h + iy + 1, cols1,
                    )  # fmt: skip
                gemm_to_blocks(cols1, pw1, dst, pad2_left * VW, wp, mid, bias1, act1)
            a0, a1, a2 = ring_rows(ring.ctypes.data, iy0, wp * mid)
            _ring_depthwise(
                a0, a1, a2, wp, w2, stride2, mean2, inv2, offset2, dact2, cols2
            )  # fmt: skip
            gemm_epilogue(
                cols2, pw2, out[row * wo : (row + 1) * wo], first, cout, bias2, scale_w2,
                scale_b2, residual2, row * wo, act2,
            )  # fmt: skip
    return out
