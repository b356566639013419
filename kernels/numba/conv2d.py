"""Regular convolution: im2col tiles in numba, the matrix product in BLAS, a fused epilogue.

Computes ``conv(x, w)`` with TF 'same'/'valid'/explicit padding and any stride, NHWC.
NumPy reference: ``conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (a strided
sliding-window view copied into the im2col matrix) and ``conv2d_naive``.

Design (the planning is in ``NumbaBackend.conv2d``): the output rows are cut into tiles;
for each, ``im2col_rows`` gathers each output pixel's receptive field into a row of a
per-thread buffer of at most 1 MiB (it stays in L2 instead of going to memory and back),
one BLAS product writes the tile of the output, and ``epilogue.epilogue`` adds bias /
scale / residual / activation while the tile is in cache. A 1x1 stride-1 conv is a plain
product of the activation rows, no im2col. The backend's threads take tiles from a shared
counter and run BLAS single-threaded (``faceapi_np/backend/_blas.py``).

Variants tried (2-core AVX-512 machine; one core, CPU time, min of 20-30):

* direct numba convs (register blocking over C_out): numba's default pipeline does not
  SLP-vectorise, so an accumulator block with a compile-time width stays scalar, and a
  run-time C_out of 16 leaves one vector per loop trip: Tiny Face Detector's first conv
  (1, 416, 416, 3) x (3, 3, 3, 16) 11.6 ms (outputs accumulated in L1 per tap) and
  15.4 ms (taps innermost) against 6.5 ms for im2col + BLAS; the 7x7 stride-2 first conv
  of the recognition net 2.3 / 2.9 ms against 1.1 ms. Dropped. (An earlier version with
  the filter shape compiled in as constants won in isolation but made the whole net slower.)
* the whole im2col matrix at once (the previous design): 18.5 MB for Tiny's first conv,
  written to memory and read back, fresh pages every call; tiles of 1 MiB: the products
  of the recognition net's (8, 35, 35, 32) 3x3 convs 3.9 -> 2.6 ms; tiles of 256 KiB
  lose to 1 MiB (more BLAS calls, each packing the filter again).
* copying each tap row as one contiguous kw*C run (flat indices): 1.5-15x slower than the
  per-tap channel loop kept here (numba hoists less out of flat index arithmetic).
* the same kernel as a serial ``@njit`` function: 1.3x slower than as a ``prange`` body
  run on one thread (the gufunc numba outlines is optimised better), so tiles call the
  parallel kernel with numba's thread count set to 1 in the calling thread.
* three explicit copies per tap for 3-channel inputs: 4.6 -> 3.6 ms on Tiny's first conv.
"""

from __future__ import annotations

from numba import njit, prange


@njit(parallel=True, nogil=True, cache=True)
def im2col_rows(x, kh, kw, stride, pad_top, pad_left, ho, wo, row0, row1, cols):
    """Output rows ``row0 .. row1`` (of N*Ho) of :func:`im2col`, into ``cols[:(row1 - row0) * Wo]``.

    The backend's threads call it on tiles of their own with numba's thread count at 1 in
    that thread (a prange body compiles to faster code than the same loop in a serial
    function: 1.3x here). A 3-channel input (every net's first layer) has its own loop:
    three explicit copies per tap instead of a loop of three.
    """
    n, h, w, c = x.shape
    for t in prange(row1 - row0):
        row = row0 + t
        b = row // ho
        oy = row % ho
        for ox in range(wo):
            r = t * wo + ox
            ix0 = ox * stride - pad_left
            for ky in range(kh):
                iy = oy * stride - pad_top + ky
                inside_y = 0 <= iy < h
                if c == 3:
                    base = ky * kw * 3
                    for kx in range(kw):
                        ix = ix0 + kx
                        if inside_y and 0 <= ix < w:
                            cols[r, base + 3 * kx] = x[b, iy, ix, 0]
                            cols[r, base + 3 * kx + 1] = x[b, iy, ix, 1]
                            cols[r, base + 3 * kx + 2] = x[b, iy, ix, 2]
                        else:
                            cols[r, base + 3 * kx] = 0.0
                            cols[r, base + 3 * kx + 1] = 0.0
                            cols[r, base + 3 * kx + 2] = 0.0
                    continue
                for kx in range(kw):
                    ix = ix0 + kx
                    base = (ky * kw + kx) * c
                    if inside_y and 0 <= ix < w:
                        for ci in range(c):
                            cols[r, base + ci] = x[b, iy, ix, ci]
                    else:
                        for ci in range(c):
                            cols[r, base + ci] = 0.0
    return cols
