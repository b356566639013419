"""3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3), in tiles.

Computes the same ``conv(x, w)`` as ``conv2d.py`` for a 3x3 filter at stride 1 (any TF
padding), then the fused epilogue. NumPy reference: ``conv2d`` in
``faceapi_np/backend/numpy_backend.py``.

The method (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
each 2x2 block of outputs of one channel pair needs the 4x4 input patch ``d`` around it,
and equals ``A^T [(G g G^T) * (B^T d B)] A`` with the fixed matrices below: 16 products
instead of 36, 2.25x fewer multiplies. Summed over input channels, the 16 element-wise
products become 16 matrix products, one per position ``xi`` of the 4x4 transformed tile:
``M[xi] (tiles, C_out) = V[xi] (tiles, C_in) @ U[xi] (C_in, C_out)``.

Design: the filter is transformed once (:func:`transform_filter`, ``U = G g G^T``, and
packed for the product by :func:`packed_filter`, kept by the backend with the weights). The output's 2x2 tiles are taken a band of tile rows at a
time; for each band a thread transforms the input patches into its own ``V`` buffer
(channels innermost, so it vectorises over C), makes the 16 products (``gemm.py``) into its ``M``
buffer, and transforms each tile back (``A^T m A``), adding bias / scale / residual and
the activation before the 2x2 outputs are written: ``V`` and ``M`` stay in L2 (bands are
sized to ~1 MiB each), and nothing but the output goes to memory.

Rounding: the input and output transforms add and subtract values before and after the
products, so results differ from the direct conv's by a few float32 ulps of the partial
sums: 4e-7 to 6e-7 of the largest output on the recognition net's layer shapes (the
direct conv: 0), and descriptors within 3.4e-7 of face-api.js's over the 12 golden crops
(2.1e-7 with the direct conv).

Measured with the products of ``gemm.py`` (whole recognition net, in one process, Winograd
and the direct conv alternating, 10 rounds, median of each round's best): batch 1 5.94 ->
5.86 ms, batch 8 28.18 -> 27.06 ms; bands of 16K or 256K floats instead of 64K: 5.92 /
5.91 and 28.14 / 28.02. Small gains: the 16 products are thin (K = C_in, N = C_out),
and the transforms cost most of what the 2.25x fewer multiplies save. When the products
were OpenBLAS's, which packed ``U[xi]`` again for each band (2 cores, medians of 30,
against the im2col + BLAS conv): (1, 37, 37, 32) -> 32 0.20 -> 0.17 ms; (1, 19, 19, 64) ->
64 0.17 -> 0.13 ms; (1, 5, 5, 256) -> 256 0.35 -> 0.24 ms; (8, 35, 35, 32) -> 32 1.50 ->
1.43 ms; (8, 4, 4, 256) -> 256 0.91 -> 0.80 ms.

Per layer, against the direct conv with the packed products and its epilogue in the
store (2 cores, in one process alternating, medians of 200-600 calls, us): (1, 35, 35,
32) 153 / 137, (1, 17, 17, 64) 133 / 126, (8, 8, 8, 128) 903 / 757, (8, 35, 35, 32)
1079 / 1104, (8, 17, 17, 64) 743 / 868: it gains only with 64 channels or more and 512
tiles or more (``numba_tiling.WINOGRAD_MIN_C``, ``WINOGRAD_MIN_TILES``). With that rule
against the former one (16 channels, any tiles), the recognition net 4.86 -> 4.71 ms at
batch 1 and 27.1 -> 26.6 ms at batch 8 (in one process alternating, medians of 80-300).

A conv with fewer output pixels than filters (the recognition net's 256-filter convs at
batch 1 and 8) goes to the direct conv instead, split by blocks of channels: its time is
reading the filter, and ``U`` is 16/9 of the filter's size. A minimum of 8 tiles (on top
of the present rules, before that one) was tried and lost: recognition at batch 1 7.2
against 6.9 ms.

Variants tried: bands of 32K, 64K (kept), 128K, 256K and 1M floats per buffer: 64K-256K
alike, 1M 1.4x slower on the 32-channel layers (the buffers leave L2; a (2048, 32) @ (32,
32) product runs at 46 GFLOP/s against 93 for (512, 32)). F(4x4, 3x3) (4x fewer
multiplies) was not tried: its transforms have factors up to 8 and lose about two more
decimal digits, against a parity target of ~1e-7 in the descriptors.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .epilogue import finish
from .gemm import gemm_packed, pack

#: G of F(2x2, 3x3): U = G g G^T turns a 3x3 filter into its 4x4 transformed tile.
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def transform_filter(w: np.ndarray) -> np.ndarray:
    """``U`` (16, C_in, C_out) float32 from a (3, 3, C_in, C_out) filter: ``G g G^T`` per pair.

    Computed in float64 and rounded once (the halves in ``G`` are exact in binary).
    """
    u = np.einsum("ik,klcd,jl->ijcd", G, w.astype(np.float64), G)
    return np.ascontiguousarray(u.reshape(16, w.shape[2], w.shape[3]), dtype=np.float32)


def packed_filter(w: np.ndarray) -> np.ndarray:
    """:func:`transform_filter`'s 16 matrices, each packed for the product (``gemm.pack``)."""
    return np.stack([pack(m) for m in transform_filter(w)])


@njit(inline="always")
def _input_tile(r0, r1, r2, r3, a, v, ti):
    """``B^T d B`` of the 4x4 patch at columns ``a .. a+3`` of rows ``r0..r3`` into ``v[:, ti]``.

    ``B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]``, first down the
    columns (rows of ``d``), then along the rows; channels innermost.
    """
    for ci in range(v.shape[2]):
        # t = B^T d, one column j of d at a time
        d0, d1, d2, d3 = r0[a, ci], r1[a, ci], r2[a, ci], r3[a, ci]
        t00, t10, t20, t30 = d0 - d2, d1 + d2, d2 - d1, d1 - d3
        d0, d1, d2, d3 = r0[a + 1, ci], r1[a + 1, ci], r2[a + 1, ci], r3[a + 1, ci]
        t01, t11, t21, t31 = d0 - d2, d1 + d2, d2 - d1, d1 - d3
        d0, d1, d2, d3 = r0[a + 2, ci], r1[a + 2, ci], r2[a + 2, ci], r3[a + 2, ci]
        t02, t12, t22, t32 = d0 - d2, d1 + d2, d2 - d1, d1 - d3
        d0, d1, d2, d3 = r0[a + 3, ci], r1[a + 3, ci], r2[a + 3, ci], r3[a + 3, ci]
        t03, t13, t23, t33 = d0 - d2, d1 + d2, d2 - d1, d1 - d3
        # V = t B, row i of t -> v[4i .. 4i+3]
        v[0, ti, ci] = t00 - t02
        v[1, ti, ci] = t01 + t02
        v[2, ti, ci] = t02 - t01
        v[3, ti, ci] = t01 - t03
        v[4, ti, ci] = t10 - t12
        v[5, ti, ci] = t11 + t12
        v[6, ti, ci] = t12 - t11
        v[7, ti, ci] = t11 - t13
        v[8, ti, ci] = t20 - t22
        v[9, ti, ci] = t21 + t22
        v[10, ti, ci] = t22 - t21
        v[11, ti, ci] = t21 - t23
        v[12, ti, ci] = t30 - t32
        v[13, ti, ci] = t31 + t32
        v[14, ti, ci] = t32 - t31
        v[15, ti, ci] = t31 - t33


@njit(inline="always")
def _output_tile(m, ti, p00, rows2, cols2, wo, bias, scale_w, scale_b, residual, act, out):
    """``A^T m A`` of tile ``ti`` (``A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]``) + epilogue, into
    the output rows from ``p00`` (its top-left pixel); ``rows2`` / ``cols2``: whether its
    second row / column is inside the output."""
    for co in range(m.shape[2]):
        # s = A^T m, per column j of m
        m0, m1, m2, m3 = m[0, ti, co], m[4, ti, co], m[8, ti, co], m[12, ti, co]
        s00, s10 = m0 + m1 + m2, m1 - m2 - m3
        m0, m1, m2, m3 = m[1, ti, co], m[5, ti, co], m[9, ti, co], m[13, ti, co]
        s01, s11 = m0 + m1 + m2, m1 - m2 - m3
        m0, m1, m2, m3 = m[2, ti, co], m[6, ti, co], m[10, ti, co], m[14, ti, co]
        s02, s12 = m0 + m1 + m2, m1 - m2 - m3
        m0, m1, m2, m3 = m[3, ti, co], m[7, ti, co], m[11, ti, co], m[15, ti, co]
        s03, s13 = m0 + m1 + m2, m1 - m2 - m3
        # Y = s A
        out[p00, co] = finish(s00 + s01 + s02, bias, scale_w, scale_b, residual, p00, co, act)
        if cols2:
            y = s01 - s02 - s03
            out[p00 + 1, co] = finish(y, bias, scale_w, scale_b, residual, p00 + 1, co, act)
        if rows2:
            p = p00 + wo
            y = s10 + s11 + s12
            out[p, co] = finish(y, bias, scale_w, scale_b, residual, p, co, act)
            if cols2:
                y = s11 - s12 - s13
                out[p + 1, co] = finish(y, bias, scale_w, scale_b, residual, p + 1, co, act)


@njit(parallel=True, nogil=True, cache=True)
def conv3x3(
    x,
    u,
    pad_top,
    pad_left,
    ho,
    wo,
    band_rows,
    scratch_v,
    scratch_m,
    bias,
    scale_w,
    scale_b,
    residual,
    act,
    out,
):
    """``out`` (N*Ho*Wo, C_out) = epilogue(conv3x3(x)) at stride 1, by F(2x2, 3x3).

    ``x`` (N, H, W, C_in); ``u`` the 16 (C_in, C_out) matrices from
    :func:`transform_filter`, each packed by ``gemm.pack``;
    ``band_rows`` tile rows (of N * ceil(Ho/2)) per band; ``scratch_v`` / ``scratch_m``
    (T, >= 16 * band tiles * C_in / C_out) one pair of buffers per thread; epilogue terms
    as in ``conv2d.conv2d``.
    """
    n, h, w, c = x.shape
    cout = out.shape[1]
    tiles_x = (wo + 1) // 2
    tiles_y = (ho + 1) // 2
    tile_rows = n * tiles_y
    nbands = (tile_rows + band_rows - 1) // band_rows
    nthreads = scratch_v.shape[0]
    zero_row = np.zeros((w, c), dtype=np.float32)  # stands in for rows outside the image
    for t in prange(nthreads):
        patch = np.zeros((4, 4, c), dtype=np.float32)  # an edge tile, zeros outside
        for band in range(t, nbands, nthreads):
            r0 = band * band_rows
            r1 = min(tile_rows, r0 + band_rows)
            ntiles = (r1 - r0) * tiles_x
            v = scratch_v[t, : 16 * ntiles * c].reshape(16, ntiles, c)
            m = scratch_m[t, : 16 * ntiles * cout].reshape(16, ntiles, cout)
            for tr in range(r0, r1):
                b = tr // tiles_y
                iy = 2 * (tr % tiles_y) - pad_top
                x0 = x[b, iy] if 0 <= iy < h else zero_row
                x1 = x[b, iy + 1] if 0 <= iy + 1 < h else zero_row
                x2 = x[b, iy + 2] if 0 <= iy + 2 < h else zero_row
                x3 = x[b, iy + 3] if 0 <= iy + 3 < h else zero_row
                for tx in range(tiles_x):
                    ti = (tr - r0) * tiles_x + tx
                    a = 2 * tx - pad_left
                    if a >= 0 and a + 3 < w:
                        _input_tile(x0, x1, x2, x3, a, v, ti)
                        continue
                    # an edge column: copy the patch with zeros outside the image
                    for i in range(4):
                        for j in range(4):
                            ix = a + j
                            yi = iy + i
                            if 0 <= ix < w and 0 <= yi < h:
                                for ci in range(c):
                                    patch[i, j, ci] = x[b, yi, ix, ci]
                            else:
                                for ci in range(c):
                                    patch[i, j, ci] = 0.0
                    _input_tile(patch[0], patch[1], patch[2], patch[3], 0, v, ti)
            for xi in range(16):
                gemm_packed(v[xi], u[xi], m[xi], 0, cout)
            for tr in range(r0, r1):
                b = tr // tiles_y
                oy = 2 * (tr % tiles_y)
                for tx in range(tiles_x):
                    ox = 2 * tx
                    p00 = (b * ho + oy) * wo + ox
                    ti = (tr - r0) * tiles_x + tx
                    rows2, cols2 = oy + 1 < ho, ox + 1 < wo
                    _output_tile(
                        m, ti, p00, rows2, cols2, wo, bias, scale_w, scale_b, residual, act, out
                    )
    return out
