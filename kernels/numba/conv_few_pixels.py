"""A conv with 13-16 output pixels and more filters than that: the product turned around.

Computes ``conv(x, w)`` with the conv epilogue as ``conv2d.py``'s kernels do, for convs of
13-16 output pixels (N*Ho*Wo) and more filters (the recognition net's 256-filter 3x3
convs on 4x4 maps at batch 1, SSD's with 4x4 outputs); NumPy
reference: ``conv2d`` in ``faceapi_np/backend/numpy_backend.py``.

Design (``conv2d_few_pixels``): the filter (C_out, K) is the operand read once, a row
broadcast at a time, against one panel (K, 16) of the pixels' receptive fields kept in
L2 (``gemm.gemm_turned``); threads take blocks of filters. Each thread gathers the panel
16 channels of a tap at a time, transposed in registers (``transpose_ir.columns16``),
and writes each block's sums back transposed through the epilogue.

Measured, against channel blocks of the usual product (each panel of filter used by only
9-16 rows): the recognition net's four (1, 4, 4, 256) 3x3 convs 0.81 -> 0.58 ms, its
(1, 3, 3, 256) one 0.17 -> 0.14 ms, the net's ops 4.21 -> 4.03 ms (two runs each, Zen 4).
With 1-4 pixels most of the 16-wide panel is empty: 0.017 -> 0.033 ms for a 1-pixel
conv, so those keep channel blocks; with 9-12, the usual product's blocks (8 rows, then
a short block of 4) hold fewer empty rows, and are ahead in the net's sequence
(``numba_tiling.TURNED_MIN_PIXELS``). The gather value by value (a pixel's channels down a
column of the panel) took ~10 us of each (1, 4, 4, 256) conv's ~70 on a thread, and the
panel's 16 unread columns were zeroed besides (~5 us); gathered by ``columns16``, ~3 us:
the conv 69 -> 55 us (the kernel alone, its filter cycled with five others), 0.080 ->
0.064 ms in the net's planned sequence. The epilogue, reading the sums column by
column, takes ~2.5 us; with the sums turned back into rows by ``columns16`` first, the
same (0.067-0.074 against 0.067-0.069 ms).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .block_ir import NR, VW
from .epilogue import finish
from .gemm import gemm_turned
from .transpose_ir import columns16


@njit(parallel=True, nogil=True, cache=True)
def conv2d_few_pixels(
    x, wt, kh, kw, stride, pad_top, pad_left, ho, wo, col_block, scratch,
    bias, scale_w, scale_b, residual, act, out,
):  # fmt: skip
    """As :func:`conv2d`, for convs with 13-16 output pixels (N*Ho*Wo) and more
    filters than that: the product turned around (``gemm.gemm_turned``).

    ``wt`` the (C_out, KH*KW*C_in) transposed filter matrix, contiguous; threads take
    blocks of ``col_block`` filters. Each thread gathers the pixels' receptive fields once
    into a (K, NR) panel (zeros past the last pixel), multiplies each MR filter rows by
    it into its (col_block, NR) result, and writes the result back transposed through the
    epilogue (the terms in ``block_ir.py``'s order). ``scratch`` (T, >= (K + col_block) *
    NR).
    """
    n, h, wd, c = x.shape
    k = kh * kw * c
    cout = wt.shape[0]
    m = n * ho * wo
    nblocks = (cout + col_block - 1) // col_block
    nthreads = scratch.shape[0]
    for t in prange(nthreads):
        panel = scratch[t, : k * NR].reshape(k, NR)
        ct = scratch[t, k * NR : (k + col_block) * NR].reshape(col_block, NR)
        _gather_turned(x, kh, kw, stride, pad_top, pad_left, ho, wo, panel)
        for blk in range(t, nblocks, nthreads):
            c0 = blk * col_block
            c1 = min(cout, c0 + col_block)
            gemm_turned(wt, panel, ct, c0, c1)
            for p in range(m):
                for co in range(c0, c1):
                    out[p, co] = finish(
                        ct[co - c0, p], bias, scale_w, scale_b, residual, p, co, act
                    )
    return out


@njit(nogil=True)
def _gather_turned(x, kh, kw, stride, pad_top, pad_left, ho, wo, panel):
    """The N*Ho*Wo (<= 16) receptive fields as the first 16 columns of ``panel`` (K, NR),
    zeros past the last pixel: where the channels come in whole vectors, 16 channels of a
    tap for the 16 pixels at a time, transposed in registers (``transpose_ir.columns16``;
    figures in the module); otherwise tap by tap, the C rows a tap fills staying in L1
    while each pixel writes its column (pixel by pixel, each column ran down the whole
    147 KiB panel: 23.7 -> 11.0 us)."""
    n, h, w, c = x.shape
    m = n * ho * wo
    ldp = panel.strides[0] // 4
    if c % VW == 0 and x.strides[3] == 4 and panel.strides[1] == 4:
        srcs = np.empty(VW, np.int64)
        s0, s1, s2 = x.strides[0], x.strides[1], x.strides[2]
        for ky in range(kh):
            for kx in range(kw):
                valid = 0
                for p in range(VW):
                    srcs[p] = x.ctypes.data  # read, but replaced by zeros, where not valid
                    b, oy, ox = p // (ho * wo), (p // wo) % ho, p % wo
                    iy = oy * stride - pad_top + ky
                    ix = ox * stride - pad_left + kx
                    if p < m and 0 <= iy < h and 0 <= ix < w:
                        srcs[p] = x.ctypes.data + b * s0 + iy * s1 + ix * s2
                        valid |= 1 << p
                first = panel.ctypes.data + 4 * (ky * kw + kx) * c * ldp
                for c0 in range(0, c, VW):
                    columns16(srcs.ctypes.data, valid, c0, first + 4 * c0 * ldp, ldp)
        return
    panel[:, m:VW] = 0.0
    for ky in range(kh):
        for kx in range(kw):
            base = (ky * kw + kx) * c
            for p in range(m):
                b, oy, ox = p // (ho * wo), (p // wo) % ho, p % wo
                iy = oy * stride - pad_top + ky
                ix = ox * stride - pad_left + kx
                if 0 <= iy < h and 0 <= ix < w:
                    for ci in range(c):
                        panel[base + ci, p] = x[b, iy, ix, ci]
                else:
                    for ci in range(c):
                        panel[base + ci, p] = 0.0
