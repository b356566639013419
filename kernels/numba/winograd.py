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

Design: the filter is transformed once (``U = G g G^T``) and packed for the product
(:func:`packed_filter`, kept by the backend with the weights). The output's 2x2 tiles
are taken a band of tile rows at a time; for each band a thread
transforms the input patches into its own ``V`` buffer, makes the 16 products
(``gemm.py``) into its ``M`` buffer, and transforms each tile back (``A^T m A``), adding
bias / scale / residual and the activation before the 2x2 outputs are written: ``V``
and ``M`` stay in L2 (bands are sized to 256 KiB each), and nothing but the output goes
to memory. The transforms are ``winograd_ir.py``'s, eight channels a vector (channel
counts in multiples of 8: ``numba_tiling.takes_winograd``); the patches that cross the
image's left or right edge are copied with their zeros first.

Rounding: the input and output transforms add and subtract values before and after the
products, so results differ from the direct conv's by a few float32 ulps of the partial
sums: 2e-7 to 6e-7 of the largest output on the recognition net's layer shapes (the
direct conv: 0). With the recognition net's 3x3 stride-1 convs of 16 tiles or more done
this way (all but its four on 4x4 maps at batch 1), descriptors are within 2.09e-7 of
face-api.js's over the 12 golden crops (median 1.68e-7), against 2.68e-7 (1.83e-7) with
the direct conv and 2.38e-7 (2.04e-7) for the NumPy reference.

Where the time goes, one core, (8, 17, 17, 64): with the transforms as numba loops
over each tile's channels (not vectorised: LLVM could not tell their 20 streams apart)
the conv took 1.33 ms, of which the 16 products 0.78 (109 GFLOP/s) and the transforms
0.55; the direct conv 1.72. With ``winograd_ir.py``'s transforms, 0.94 ms. On two cores,
Winograd / direct (medians of 100 calls, ms): (8, 35, 35, 32) 0.64 / 1.03, (8, 17, 17,
64) 0.55 / 0.96, (8, 8, 8, 128) 0.55 / 0.94, (1, 35, 35, 32) 0.097 / 0.146, (1, 17, 17,
64) 0.095 / 0.151; smaller convs in ``numba_tiling.WINOGRAD_MIN_TILES``. With the numba
transforms it gained only from 64 channels and 512 tiles: (1, 35, 35, 32) 153 / 137 us,
(8, 8, 8, 128) 903 / 757 us, (8, 17, 17, 64) 743 / 868 us.

Small maps: ``U`` is 16/9 of the filter's size, and with few tiles reading it is the
work, so convs of fewer than 16 tiles stay direct (the recognition net's (1, 4, 4, 256)
ones, whose direct conv reads each weight once). From 16 tiles Winograd gains even with
fewer pixels than filters, where the direct conv splits the filter's channels between
threads: (1, 8, 8, 128) 0.096 against 0.128 ms, (8, 4, 4, 256) 0.64 against 0.94. A map
whose last tiles hang over its edge saves fewer multiplies (``WINOGRAD_MAX_WORK``).

Variants tried (with the numba transforms): bands of 32K, 64K (kept), 128K, 256K and 1M
floats per buffer: 64K-256K alike, 1M 1.4x slower on the 32-channel layers (the buffers
leave L2; a (2048, 32) @ (32, 32) product runs at 46 GFLOP/s against 93 for (512, 32)).
F(4x4, 3x3) (4x fewer multiplies) was not tried: its transforms have factors up to 8
and lose about two more decimal digits, against a parity target of ~1e-7 in the
descriptors.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .block_ir import NR
from .gemm import epilogue_args, gemm_packed
from .scratch import zeros2d
from .winograd_ir import input_tiles, output_tiles

#: G of F(2x2, 3x3): U = G g G^T turns a 3x3 filter into its 4x4 transformed tile.
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


@njit(cache=True)
def packed_filter(w):
    """``U = G g G^T`` of a (3, 3, C_in, C_out) filter, its 16 (C_in, C_out) matrices each
    packed for the product as ``gemm.pack`` lays a matrix out: (16, ceil(C_out / NR),
    C_in, NR), zeros past C_out.

    Computed in float64 and rounded once (the halves in ``G`` are exact in binary): for
    each column of the 3x3 filter ``t = G g`` (the rows of :data:`G`, summed left to
    right), then ``U = t G^T`` along each row of ``t``, the same sums as
    ``einsum("ik,klcd,jl->ijcd", G, w, G)`` in float64. A loop writing the packed
    matrices, not that einsum and ``gemm.pack``: all 29 of the recognition net's 3x3
    filters took 94 ms that way, 45 ms so (paid once, on a first pass).
    """
    cin, cout = w.shape[2], w.shape[3]
    u = np.zeros((16, (cout + NR - 1) // NR, cin, NR), np.float32)
    t = np.empty((4, 3), np.float64)
    for c in range(cin):
        for d in range(cout):
            p, j = d // NR, d % NR
            for kx in range(3):  # t = G g, down each column of the filter
                g0, g1, g2 = (
                    np.float64(w[0, kx, c, d]),
                    np.float64(w[1, kx, c, d]),
                    np.float64(w[2, kx, c, d]),
                )
                t[0, kx] = g0
                t[1, kx] = 0.5 * (g0 + g1 + g2)
                t[2, kx] = 0.5 * (g0 - g1 + g2)
                t[3, kx] = g2
            for i in range(4):  # U = t G^T, along each row of t
                a, b, e = t[i, 0], t[i, 1], t[i, 2]
                u[4 * i, p, c, j] = a
                u[4 * i + 1, p, c, j] = 0.5 * (a + b + e)
                u[4 * i + 2, p, c, j] = 0.5 * (a - b + e)
                u[4 * i + 3, p, c, j] = e
    return u


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

    ``x`` (N, H, W, C_in); ``u`` the 16 packed (C_in, C_out) matrices from
    :func:`packed_filter`; ``band_rows`` tile rows (of N * ceil(Ho/2)) per band; ``scratch_v`` / ``scratch_m``
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
    zero_row = zeros2d(w, c)  # stands in for rows outside the image
    # the tiles whose 4x4 patch lies inside the image's columns: lo .. hi
    lo = min(tiles_x, (pad_left + 1) // 2)
    hi = max(lo, min(tiles_x, (w - 4 + pad_left) // 2 + 1))
    for t in prange(nthreads):
        patch = np.zeros((4, 4, c), dtype=np.float32)  # an edge tile, zeros outside
        for band in range(t, nbands, nthreads):
            r0 = band * band_rows
            r1 = min(tile_rows, r0 + band_rows)
            ntiles = (r1 - r0) * tiles_x
            v = scratch_v[t, : 16 * ntiles * c]
            m = scratch_m[t, : 16 * ntiles * cout]
            for tr in range(r0, r1):
                b = tr // tiles_y
                iy = 2 * (tr % tiles_y) - pad_top
                x0 = x[b, iy] if 0 <= iy < h else zero_row
                x1 = x[b, iy + 1] if 0 <= iy + 1 < h else zero_row
                x2 = x[b, iy + 2] if 0 <= iy + 2 < h else zero_row
                x3 = x[b, iy + 3] if 0 <= iy + 3 < h else zero_row
                row_v = v.ctypes.data + 4 * (tr - r0) * tiles_x * c
                a = 2 * lo - pad_left
                input_tiles(
                    x0[a:].ctypes.data, x1[a:].ctypes.data, x2[a:].ctypes.data,
                    x3[a:].ctypes.data, hi - lo, c, row_v + 4 * lo * c, ntiles * c,
                )  # fmt: skip
                for tx in range(tiles_x):
                    if lo <= tx < hi:
                        continue
                    # an edge column: copy the patch with zeros outside the image
                    a = 2 * tx - pad_left
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
                    input_tiles(
                        patch[0].ctypes.data, patch[1].ctypes.data, patch[2].ctypes.data,
                        patch[3].ctypes.data, 1, c, row_v + 4 * tx * c, ntiles * c,
                    )  # fmt: skip
            v3 = v.reshape(16, ntiles, c)
            m3 = m.reshape(16, ntiles, cout)
            for xi in range(16):
                gemm_packed(v3[xi], u[xi], m3[xi], 0, cout)
            for tr in range(r0, r1):
                b = tr // tiles_y
                oy = 2 * (tr % tiles_y)
                p00 = (b * ho + oy) * wo
                bp, sw, sb, res, ldr, terms = epilogue_args(bias, scale_w, scale_b, residual, p00)
                output_tiles(
                    m.ctypes.data + 4 * (tr - r0) * tiles_x * cout, ntiles * cout, tiles_x,
                    cout, out[p00:].ctypes.data, wo * cout, wo % 2 == 0, oy + 1 < ho,
                    bp, sw, sb, res, ldr, wo * ldr, terms, act,
                )  # fmt: skip
    return out
