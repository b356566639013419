"""Depthwise-separable convolution: a 3x3 depthwise conv fused into the 1x1 conv after it.

Computes ``y = act((dw(x) @ pw + bias) * scale_w + scale_b + residual)`` where ``dw(x) =
dact((dwconv3x3(relu?(x), w) - mean) * inv + offset)`` (input ReLU, batch norm and the
depthwise activation optional) and ``pw`` is the (C, C_out) pointwise filter. NumPy
reference: ``Backend.separable_conv2d`` in ``faceapi_np/backend/base.py``, the NumPy
backend's ``depthwise_conv2d`` followed by its 1x1 ``conv2d``.

Design (``separable3x3``): the output rows (of N*Ho) are cut into tiles as in
``conv2d.py``, each of numba's threads taking a run of them (``tiles.py``). For each
tile the depthwise rows are computed into the thread's scratch buffer (it and the output
tile under 1 MiB, so both stay in L2) by the depthwise kernel's own rows function
(``depthwise3x3_rows``: the same sums in the same order, one call a tile), that buffer
is multiplied by the packed pointwise filter straight into the output tile
(``gemm.py``), and the epilogue runs on the tile while it is in cache. The depthwise output never goes to memory, and a
separable conv is one compiled call instead of two kernels with Python between them. The
depthwise rows are computed in that function, compiled with ``fastmath={"contract"}``
(as ``depthwise3x3``), and the rest without it (as ``conv2d``), so that each half rounds
as its unfused kernel does: with ``contract`` on the whole kernel the epilogue's
multiply-adds (scale layer, leaky ReLU) could fuse into FMAs and round otherwise than
``conv2d``'s.

Measured on a 2-core AVX-512 machine shared with other work, interleaved (so ratios
within a run count, not absolute figures). Whole nets, ``faceapi-np bench --backends
numba --batch 1,8 --repeat 20 --no-chain``, the two-kernel code against this one in
separate processes, 6 rounds, median of the rounds' medians (ms): SSD MobileNetV1 70.5 ->
54.0, Tiny Face Detector 11.7 -> 11.4, FaceLandmark68Net 2.22 -> 2.02 (batch 1) and 12.9
-> 11.8 (batch 8), FaceLandmark68TinyNet 1.27 -> 1.26 and 8.71 -> 8.14. The same nets in
one process, the two ops and this kernel alternating, 30 rounds, medians: SSD 56.2 ->
52.3, Tiny 10.5 -> 10.5, FaceLandmark68Net 1.66 -> 1.50 and 10.9 -> 10.4,
FaceLandmark68TinyNet 1.07 -> 0.94 and 7.49 -> 7.14.

Variants tried (one layer at a time, both cores, min of 20, interleaved):

* the two kernels (depthwise output to memory, then the 1x1 conv's tiles): 0.87-0.99x
  the time on SSD's 13 pairs (most on the wide early layers, where the depthwise output
  is largest: (1, 128, 128, 128) 4.59 -> 4.01 ms), 0.89-0.96x on the dense blocks'
  (FaceLandmark68Net's) and 0.97-1.01x on Tiny Face Detector's, where the 1x1 product
  dominates; over all 26 layers 44.9 -> 42.6 ms (on one core, with an earlier tiling
  rule: 98.0 -> 93.2 ms).
* tile budgets of 2 MiB, 512 KiB and 256 KiB for the depthwise rows and the output
  tile, instead of conv2d's 1 MiB: 27.9, 28.1 and 29.1 ms against 28.0 ms over 12 layers
  (256 KiB lost on the 1024-channel layer, 3.84 -> 4.71 ms, more BLAS calls each
  packing the filter again, as the product then did); kept conv2d's rule, so there is
  one tiling rule.

A 2x2 stride-2 max pool after the conv (Tiny Face Detector's) is done by this kernel as
it stores its rows (``pooled``): the tiles count pooled rows, and each pooled row's one
or two output rows go through a small buffer in L1 into ``pool.pool2x2_row``. Figures
and the variants that lost are in ``pool.py``.
"""

from __future__ import annotations

from numba import njit, prange

from .conv2d import finish_tile
from .depthwise import depthwise3x3_rows, row_ring
from .gemm import gemm_epilogue
from .pool import pool2x2_row
from .scratch import zeros2d
from .tiles import thread_tiles, tile_bounds


@njit(parallel=True, nogil=True, cache=True)
def separable3x3(
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
    col_block,
    pooled,
    scratch,
    tile_out,
    bias,
    scale_w,
    scale_b,
    residual,
    act,
    out,
):
    """``out`` (N*Ho*Wo, C_out) = epilogue(depthwise3x3(x) @ pw), in tiles of ``tile_rows``.

    ``x`` (N, H, W, C); ``w`` (3, 3, C) and ``mean``, ``inv``, ``offset``, ``depthwise_act``,
    ``relu_input`` as ``depthwise.depthwise3x3``'s; ``pw`` the (C, C_out) 1x1 filter packed by ``gemm.pack``;
    ``col_block`` output channels a tile (as ``conv2d.conv2d``'s); ``scratch`` (T, >= tile_rows*Wo*C), ``bias``, ``scale_w``, ``scale_b``, ``residual``
    and ``act`` as ``conv2d.conv2d``'s.

    ``pooled``: ``out`` is (N*Hp*Wp, C_out), the 2x2 stride-2 'same' max pool of the
    separable conv's output (Hp = ceil(Ho / 2)), and ``tile_rows`` counts pooled rows: a
    pooled row's one or two output rows go to the thread's ``tile_out`` (T, >= 2*Wo*C_out)
    and are pooled from there (``pool.pool2x2_row``), so they never go to memory. A pooled
    conv has no blocks of channels (``col_block`` = C_out).
    """
    n, h, wd, c = x.shape
    hp, wp2 = (ho + 1) // 2, (wo + 1) // 2  # the pooled map
    rows = n * hp if pooled else n * ho
    cout = out.shape[1]
    nblocks = (cout + col_block - 1) // col_block
    ntiles = (rows + tile_rows - 1) // tile_rows * nblocks
    nthreads = scratch.shape[0]
    zero_row = zeros2d(wd, c)  # stands in for rows outside the image
    for t in prange(nthreads):
        done = -1  # the row tile whose depthwise rows are in this thread's scratch
        blocked, held = row_ring(x)
        for i in range(*thread_tiles(t, nthreads, ntiles)):
            rt, r0, r1, c0, c1 = tile_bounds(i, nblocks, col_block, cout, tile_rows, rows)
            q0, q1 = r0, r1  # rows of out
            if pooled:  # the output rows of pooled rows q0 .. q1 (a contiguous run)
                r0 = (q0 // hp) * ho + 2 * (q0 % hp)
                r1 = ((q1 - 1) // hp) * ho + min(2 * ((q1 - 1) % hp) + 2, ho)
            p0, p1 = r0 * wo, r1 * wo
            cols = scratch[t, : (p1 - p0) * c].reshape(p1 - p0, c)
            if rt != done:
                depthwise3x3_rows(
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
                    blocked,
                    held,
                    r0,
                    r1,
                    cols,
                )
                done = rt
            if not pooled:
                finish_tile(cols, pw, out, p0, p1, c0, c1, bias, scale_w, scale_b, residual, act)
                continue
            # each pooled row: its one or two output rows into the thread's pair buffer
            # (in L1/L2), then pooled from there
            pair = tile_out[t, : 2 * wo * cout].reshape(2 * wo, cout)
            for q in range(q0, q1):
                b, py = q // hp, q % hp
                a = (b * ho + 2 * py - r0) * wo  # its first output row, in the tile
                m = wo * min(2, ho - 2 * py)
                gemm_epilogue(
                    cols[a : a + m], pw, pair[:m], c0, c1, bias, scale_w, scale_b, residual,
                    p0 + a, act,
                )  # fmt: skip
                pool2x2_row(pair[:wo], pair[m - wo : m], 2, True, out[q * wp2 : (q + 1) * wp2])
    return out
