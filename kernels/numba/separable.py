"""Depthwise-separable convolution: a 3x3 depthwise conv fused into the 1x1 conv after it.

Computes ``y = act((dw(x) @ pw + bias) * scale_w + scale_b + residual)`` where ``dw(x) =
dact((dwconv3x3(relu?(x), w) - mean) * inv + offset)`` (input ReLU, batch norm and the
depthwise activation optional) and ``pw`` is the (C, C_out) pointwise filter. NumPy
reference: ``Backend.separable_conv2d`` in ``faceapi_np/backend/base.py``, the NumPy
backend's ``depthwise_conv2d`` followed by its 1x1 ``conv2d``.

Design (``separable3x3``): the output rows (of N*Ho) are cut into tiles as in
``conv2d.py``, thread ``t`` of numba's threads taking tiles ``t, t + T, ...``. For each
tile the depthwise rows are computed into the thread's scratch buffer (at most 1 MiB, so
it stays in L2) by the depthwise kernel's own row function (``depthwise3x3_row``: the same
sums in the same order), sgemm multiplies that buffer by the pointwise filter straight
into the output tile (``blas.py``), and the epilogue runs on the tile while it is in
cache. The depthwise output never goes to memory, and a separable conv is one compiled
call instead of two kernels with Python between them. The depthwise rows are computed in
their own function compiled with ``fastmath={"contract"}`` (as ``depthwise3x3``), and
the rest without it (as ``conv2d``), so that each half rounds as its unfused kernel does.

Variants tried (2-core AVX-512 machine shared with other work, so figures are medians of
interleaved runs, ``faceapi-np bench --backends numba --repeat 20 --no-chain``):

* the two kernels as before (depthwise to memory, then the 1x1 conv's tiles), against
  this kernel, whole nets: see the table in ``docs/backends.md`` (filled from the runs
  quoted in the report of that measurement).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .blas import matmul_into
from .depthwise import depthwise3x3_row
from .epilogue import epilogue_rows


@njit(nogil=True, cache=True, fastmath={"contract"})
def _depthwise_rows(
    x, w, stride, pad_top, pad_left, ho, mean, inv, offset, act, relu_input, zero_row, r0, r1, cols
):
    """Depthwise output rows ``r0 .. r1`` (of N*Ho) into ``cols`` ((r1 - r0) * Wo, C)."""
    wo = cols.shape[0] // (r1 - r0)
    for row in range(r0, r1):
        j = (row - r0) * wo
        depthwise3x3_row(
            x,
            w,
            row // ho,
            row % ho,
            stride,
            pad_top,
            pad_left,
            mean,
            inv,
            offset,
            act,
            relu_input,
            zero_row,
            cols[j : j + wo],
        )


@njit(parallel=True, nogil=True, cache=True)
def separable3x3(
    sgemm,
    x,
    w,
    stride,
    pad_top,
    pad_left,
    ho,
    wo,
    mean,
    inv,
    offset,
    depthwise_act,
    relu_input,
    pw,
    tile_rows,
    scratch,
    bias,
    scale_w,
    scale_b,
    residual,
    act,
    out,
):
    """``out`` (N*Ho*Wo, C_out) = epilogue(depthwise3x3(x) @ pw), in tiles of ``tile_rows``.

    ``x`` (N, H, W, C); ``w`` (3, 3, C) and ``mean``, ``inv``, ``offset``, ``depthwise_act``,
    ``relu_input`` as ``depthwise.depthwise3x3``'s; ``pw`` (C, C_out); ``sgemm``,
    ``scratch`` (T, >= tile_rows*Wo*C), ``bias``, ``scale_w``, ``scale_b``, ``residual``
    and ``act`` as ``conv2d.conv2d``'s.
    """
    n, h, wd, c = x.shape
    rows = n * ho
    ntiles = (rows + tile_rows - 1) // tile_rows
    nthreads = scratch.shape[0]
    zero_row = np.zeros((wd, c), dtype=np.float32)  # stands in for rows outside the image
    for t in prange(nthreads):
        for i in range(t, ntiles, nthreads):
            r0 = i * tile_rows
            r1 = min(rows, r0 + tile_rows)
            p0, p1 = r0 * wo, r1 * wo
            cols = scratch[t, : (p1 - p0) * c].reshape(p1 - p0, c)
            _depthwise_rows(
                x,
                w,
                stride,
                pad_top,
                pad_left,
                ho,
                mean,
                inv,
                offset,
                depthwise_act,
                relu_input,
                zero_row,
                r0,
                r1,
                cols,
            )
            tile = out[p0:p1]
            matmul_into(sgemm, cols, pw, tile)
            epilogue_rows(tile, bias, scale_w, scale_b, residual, p0, act)
    return out
