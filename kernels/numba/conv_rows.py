"""A stride-1 conv as one product per filter row over padded input rows: no im2col.

Computes ``conv(x, w)`` (stride 1, any padding) with the conv epilogue, as ``conv2d.py``'s
kernels do; NumPy reference: ``conv2d`` in ``faceapi_np/backend/numpy_backend.py``.

Design (``conv2d_rows``): tiles of output rows, each thread taking a run of them
(``tiles.py``); each tile's input rows are copied once with their zero padding
(``conv2d.padded_rows``), as the few-channel conv does. For an output row and filter row
``ky``, the values that output pixel ``ox`` reads are the ``KW * C`` consecutive values
of padded row ``oy + ky`` from ``ox * C``: the rows of a matrix with row stride ``C``
whose rows overlap. So the output row is ``KH`` products of K = ``KW * C`` straight
from the padded rows (``gemm.gemm_window``), summed into the output (the epilogue with
the last), against the filter packed by filter rows. The im2col gather, which wrote
each input value ``KH * KW`` times, is gone; the price is ``KH`` shorter products, whose
blocks are stored ``KH`` times.

Measured on the recognition net's 3x3 'same' convs, the kernel against the tiled im2col
of ``conv2d`` (medians of 300 calls, us, 2 threads / 1 thread): (1, 35, 35, 32) 188 ->
135 / 261 -> 214, (1, 17, 17, 64) 145 -> 122 / 228 -> 207, but (1, 8, 8, 128) 129 -> 161
/ 195 -> 258: an 8-pixel output row is one block of 6 rows and one of 2. Through the
backend, in one process alternating with the im2col conv: (1, 35, 35, 32) 140 -> 123 us,
(8, 35, 35, 32) 1125 -> 922 us, (1, 17, 17, 64) 128 -> 134 us; so the backend takes this
kernel for at least ``numba_tiling.ROWS_MIN_WIDTH`` channels and columns.
"""

from __future__ import annotations

from numba import njit, prange

from .conv2d import padded_rows
from .gemm import gemm_window
from .scratch import zeros2d
from .tiles import thread_tiles


@njit(parallel=True, nogil=True, cache=True)
def conv2d_rows(
    x, wps, pad_top, pad_left, ho, wo, tile_rows, scratch, bias, scale_w, scale_b, residual,
    act, out,
):  # fmt: skip
    """``out`` (N*Ho*Wo, C_out) = epilogue(conv(x, w)), stride 1, in tiles of
    ``tile_rows`` output rows.

    ``x`` (N, H, W, C); ``wps`` (KH, panels, KW*C, 16): filter row ``ky`` of ``w``, as a
    (KW*C, C_out) matrix packed by ``gemm.pack``; ``scratch`` (T, >= (tile_rows + KH - 1)
    * (Wo + KW - 1) * C); epilogue terms as ``conv2d.conv2d``'s. Tiles never span two
    images.
    """
    n, h, wd, c = x.shape
    kh = wps.shape[0]
    kw = wps.shape[2] // c
    row = (wo + kw - 1) * c  # a padded input row
    per_image = (ho + tile_rows - 1) // tile_rows
    ntiles = n * per_image
    nthreads = scratch.shape[0]
    xrows = x.reshape(n, h, wd * c)
    copy = min(wd, wo + kw - 1 - pad_left) * c  # values of an input row inside the copy
    no_norm = zeros2d(0, 1)
    for t in prange(nthreads):
        for i in range(*thread_tiles(t, nthreads, ntiles)):
            b = i // per_image
            oy0 = (i % per_image) * tile_rows
            oy1 = min(ho, oy0 + tile_rows)
            nrows = oy1 - oy0 + kh - 1
            pad = scratch[t, : nrows * row].reshape(nrows, row)
            padded_rows(xrows, b, oy0 - pad_top, pad_left * c, copy, no_norm, False, pad)
            for oy in range(oy0, oy1):
                q = (b * ho + oy) * wo
                for ky in range(kh):
                    gemm_window(
                        pad[oy - oy0 + ky].ctypes.data, c, wo, kw * c, wps[ky], out[q : q + wo],
                        ky > 0, ky == kh - 1, bias, scale_w, scale_b, residual, q, act,
                    )  # fmt: skip
    return out
