"""Regular convolution: one parallel kernel of tiles, each im2col -> packed product -> epilogue.

Computes ``conv(x, w)`` with TF 'same'/'valid'/explicit padding and any stride, NHWC, then
the fused epilogue (bias, scale layer, residual, activation; ``epilogue.py``). NumPy
reference: ``conv2d`` in ``faceapi_np/backend/numpy_backend.py`` (a strided
sliding-window view copied into the im2col matrix) and ``conv2d_naive``.

Design (``conv2d``): the output rows (of N*Ho) are cut into tiles, and each of numba's
threads takes a run of consecutive tiles (``tiles.py``). For each tile it gathers each
output pixel's receptive field into a row of its own scratch buffer of at most 1 MiB (it
stays in L2 instead of going to memory and back), multiplies it by the filter, packed
once for the product (``gemm.py``), and runs the epilogue while the tile's output is
still in cache. A 1x1 stride-1 conv is a product of the activation rows
as they lie, no im2col. The whole conv is one compiled call: no Python between tiles.
An input with few channels (every net's first layer) goes through
``conv2d_few_channels``: no im2col at all, the product reading each receptive field
where it lies in a padded copy of the tile's input rows (see its docstring).

Variants tried (2-core AVX-512 machine; one core, CPU time, min of 20-30, unless said):

* the tile's product by OpenBLAS's sgemm, called from the kernel through its address
  (the previous design): OpenBLAS packs the filter again for every tile, which costs as
  much as the product when a tile is thin. Against ``gemm.py`` (whole nets, 2 cores,
  separate processes alternating, best of 3 medians, ms): SSD 43.3 -> 40.8, recognition
  net batch 1 6.28 -> 5.17 and batch 8 27.3 -> 26.8, FaceLandmark68Net batch 8 7.47 ->
  6.91, Tiny Face Detector 5.93 -> 5.45.

* tiles handed between Python threads, each calling ``np.matmul`` (an earlier design):
  the hand-off (wake the sleeping worker, wake the caller when it is done) cost ~65 us
  per conv; the recognition net's 3x3 convs at batch 1 (37x37x32, 12.6M multiply-adds)
  273 us median against 198 us for this kernel on both cores (nothing else changed).
* direct numba convs (register blocking over C_out): numba's default pipeline does not
  SLP-vectorise, so an accumulator block with a compile-time width stays scalar, and a
  run-time C_out of 16 leaves one vector per loop trip: Tiny Face Detector's first conv
  (1, 416, 416, 3) x (3, 3, 3, 16) 11.6 ms (outputs accumulated in L1 per tap) and
  15.4 ms (taps innermost) against 6.5 ms for im2col + BLAS; the 7x7 stride-2 first conv
  of the recognition net 2.3 / 2.9 ms against 1.1 ms. Dropped.
* the whole im2col matrix at once: 18.5 MB for Tiny's first conv, written to memory and
  read back, fresh pages every call; tiles of 1 MiB: the products of the recognition
  net's (8, 35, 35, 32) 3x3 convs 3.9 -> 2.6 ms; tiles of 256 KiB lost to 1 MiB (with
  BLAS, which packed the filter again for each).
* copying each tap row as one contiguous kw*C run (flat indices): 1.5-15x slower than the
  per-tap channel loop kept here (numba hoists less out of flat index arithmetic).
* three explicit copies per tap for 3-channel inputs: 4.6 -> 3.6 ms on Tiny's first conv.
* a conv with fewer output pixels than filters split by rows (each thread reading the
  whole filter) against by blocks of channels: the recognition net at batch 1 8.6 -> 6.8
  ms, at batch 8 32.9 -> 31.5 ms (its 256-filter convs on 4x4 and 3x3 maps, whose time is
  the reading of a 2.4 MB filter; in one process, alternating, 8 rounds), the other nets
  unchanged. Such convs also skip Winograd, whose transformed filter is 16/9 the size.
* 3-channel inputs, full im2col against ``conv2d_few_channels`` (2 cores, medians of 30,
  interleaved): Tiny's (1, 416, 416, 3) 3x3 4.10 -> 2.76 ms, the recognition net's
  (8, 150, 150, 3) 7x7/2 4.79 -> 3.10 ms, SSD's (1, 512, 512, 3) 3x3/2 1.91 -> 1.81 ms.
  The full gather of a 3-channel input is 27 (or 147) stores in runs of three per output
  pixel, which numba leaves scalar (a strided copy runs at ~0.75 ns a value against 0.07
  contiguous); gathering along x only does a third (2/7) of them, and the products with
  K = 9 (21) instead of 27 (147) lose less than that saves. A direct conv with C_out in
  the innermost loop (compiled in as a constant): 4x slower than im2col + BLAS.
* that gather along x only (planes of each row parity, KH accumulating products of
  K = KW*C_in), against the padded copy read through tap offsets kept now (2 cores, in
  one process alternating, medians of 15 rounds' best of 7): Tiny's (1, 416, 416, 3)
  3x3 3.47 -> 1.74 ms, SSD's (1, 512, 512, 3) 3x3/2 2.40 -> 1.14 ms, the recognition
  net's (1, 150, 150, 3) 7x7/2 0.57 -> 0.34 ms and at batch 8 4.67 -> 2.75 ms, the
  landmark nets' (8, 112, 112, 3) 3x3/2 0.98 -> 0.49 ms. Its outputs equal the NumPy
  reference's bit for bit on those layers (one K block, summed in order, as OpenBLAS
  does for K <= 256).
* a conv with 13-16 output pixels and more filters than that: ``conv_few_pixels.py``.
* tiles of ``tile_rows`` rows and a shorter last one (13 rows in tiles of 4: 4, 4, 4, 1)
  against tiles of equal size, the longer ones taken from both ends (``tiles.py``):
  with 2 threads taking every other tile, a (1, 28, 28, 128) separable conv to 256
  channels (4 tiles of 7, 7, 7, 5 rows: one thread 54% of the rows) 0.257 -> 0.245 ms.
* the padded copy and tap offsets for every conv, not only few-channel ones (Winograd
  off): 0.92x the time for 32 channels ((8, 37, 37, 32) 3x3 1.58 -> 1.38 ms), 1.27x for
  64-128 ((8, 19, 19, 64) 1.20 -> 1.54 ms): with K = 9*C_in in the hundreds the tiled
  im2col, whose product is blocked over K, wins. Kept for few channels only. Again
  with the product through the offsets blocked over K as well (KC at a time), in one
  process alternating (2 cores, medians of 8 rounds): (1, 35, 35, 32) 3x3 0.142 ->
  0.153 ms, (1, 17, 17, 64) 0.128 -> 0.133, (1, 8, 8, 128) 0.109 -> 0.178, the
  recognition net at batch 1 4.36 -> 4.87 ms and at batch 8 25.5 -> 30.6 ms: the tiled
  im2col still wins (its rows are contiguous; each offset read is a load more a step).
"""

from __future__ import annotations

from numba import njit, prange

from .gemm import gemm_epilogue, gemm_rows_at
from .pool import pool2x2_row
from .scratch import any_not_one
from .tiles import thread_tiles, tile_bounds


@njit(inline="always")
def _gather_row(x, kh, kw, stride, pad_top, pad_left, wo, row, ho, cols, r0):
    """Output row ``row`` (of N*Ho): each pixel's receptive field into ``cols[r0 + ox]``.

    A 3-channel input (every net's first layer) has its own loop: three explicit copies
    per tap instead of a loop of three.
    """
    n, h, w, c = x.shape
    b = row // ho
    oy = row % ho
    for ox in range(wo):
        r = r0 + ox
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


@njit(inline="always")
def finish_tile(cols, wp, out, p0, p1, c0, c1, bias, scale_w, scale_b, residual, act):
    """Output rows ``p0 .. p1``, channels ``c0 .. c1`` = epilogue(cols @ w[:, c0:c1]) for
    the packed filter ``wp`` (``gemm.pack``), the epilogue applied as the sums are stored."""
    gemm_epilogue(cols, wp, out[p0:p1], c0, c1, bias, scale_w, scale_b, residual, p0, act)


@njit(parallel=True, nogil=True, cache=True)
def conv2d(
    x,
    wp,
    kh,
    kw,
    stride,
    pad_top,
    pad_left,
    ho,
    wo,
    tile_rows,
    col_block,
    scratch,
    bias,
    scale_w,
    scale_b,
    residual,
    act,
    out,
):
    """``out`` (N*Ho*Wo, C_out) = epilogue(im2col(x) @ wmat), in tiles of ``tile_rows``
    output rows by ``col_block`` output channels.

    ``x`` (N, H, W, C_in); ``wp`` the (KH*KW*C_in, C_out) filter matrix packed by
    ``gemm.pack``; ``scratch`` (T, >= tile_rows*Wo*KH*KW*C_in) one buffer per thread
    (T = numba's thread count; unused for a 1x1 stride-1 conv); ``bias``, ``scale_w``,
    ``scale_b``, ``residual`` (N*Ho*Wo, C_out) zero-length when absent; ``act`` a code of
    ``epilogue.py``. Blocks of channels split a conv with fewer output pixels than
    filters, whose time goes in reading the filter: each thread reads its share of it
    instead of the whole (a thread keeps its im2col tile for its next block of channels).
    """
    n, h, wd, c = x.shape
    k = kh * kw * c
    cout = out.shape[1]
    rows = n * ho
    nblocks = (cout + col_block - 1) // col_block
    ntiles = (rows + tile_rows - 1) // tile_rows * nblocks
    nthreads = scratch.shape[0]
    pointwise = kh == 1 and kw == 1 and stride == 1 and ho == h and wo == wd
    xrows = x.reshape(n * h * wd, c)
    for t in prange(nthreads):
        gathered = -1  # the row tile now in this thread's scratch
        for i in range(*thread_tiles(t, nthreads, ntiles)):
            rt, r0, r1, c0, c1 = tile_bounds(i, nblocks, col_block, cout, tile_rows, rows)
            p0, p1 = r0 * wo, r1 * wo
            if pointwise:
                cols = xrows[p0:p1]
            else:
                cols = scratch[t, : (p1 - p0) * k].reshape(p1 - p0, k)
                if rt != gathered:
                    for row in range(r0, r1):
                        _gather_row(
                            x, kh, kw, stride, pad_top, pad_left, wo, row, ho, cols, (row - r0) * wo
                        )
                    gathered = rt
            finish_tile(cols, wp, out, p0, p1, c0, c1, bias, scale_w, scale_b, residual, act)
    return out


@njit(inline="always")
def padded_rows(xrows, b, iy0, left, copy, norm, divide, pad):
    """Input rows ``iy0 ..`` of image ``b`` (``xrows`` (N, H, W*C)) into the rows of
    ``pad``: ``left`` zeros, the row's first ``copy`` values (through ``norm`` (3, W*C) if
    it has rows, by its divisor only if ``divide``), zeros to the end; rows outside the
    image all zeros."""
    for r in range(pad.shape[0]):
        iy = iy0 + r
        dst = pad[r]
        if iy < 0 or iy >= xrows.shape[1]:
            dst[:] = 0.0
            continue
        dst[:left] = 0.0
        src = xrows[b, iy]
        if norm.shape[0] == 0:
            dst[left : left + copy] = src[:copy]
        else:  # indexed from 0 in a view: no index can be negative, so the loops vectorise
            d, scale, offset, divisor = dst[left : left + copy], norm[0], norm[1], norm[2]
            if divide:
                for j in range(copy):
                    d[j] = (src[j] * scale[j] - offset[j]) / divisor[j]
            else:
                for j in range(copy):
                    d[j] = src[j] * scale[j] - offset[j]
        dst[left + copy :] = 0.0


@njit(parallel=True, nogil=True, cache=True)
def conv2d_few_channels(
    x,
    wp,
    koff,
    norm,
    kh,
    stride,
    pad_top,
    pad_left,
    ho,
    wo,
    tile_rows,
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
    """As :func:`conv2d`, for inputs with few channels: no im2col at all. Each tile's input
    rows are copied once, with their zero padding, and the product reads every receptive
    field where it lies in that copy (``gemm.gemm_rows_at``).

    ``wp`` the (KH*KW*C_in, C_out) filter matrix packed by ``gemm.pack``; ``koff``
    (KH*KW*C_in,) int64: where tap (ky, kx, ci) of an output pixel lies from the pixel's
    first value in the padded copy, ``(ky * Wp + kx) * C_in + ci`` for the padded width
    ``Wp = (Wo - 1) * stride + KW``. ``scratch`` (T, >= ((tile_rows - 1) * stride + KH) *
    Wp * C_in). Tiles never span two images. ``norm`` (3, W*C_in): the input
    normalisation's scale, offset and divisor along a whole input row, applied as the
    rows are copied, in ``normalize_input``'s order (no rows: none). A net's first conv
    so reads its pixels once instead of after a normalising pass of its own (Tiny Face
    Detector's (1, 416, 416, 3) input: 0.3 ms, 8% of the net).

    ``pooled``: ``out`` is (N*Hp*Wp, C_out), the 2x2 stride-2 'same' max pool of the
    conv's output (Hp = ceil(Ho / 2)): each pair of output rows (``tile_rows`` even) goes
    to the thread's ``tile_out`` (T, >= 2*Wo*C_out) and is pooled from there by
    ``pool.pool2x2_row``, so the conv's output never goes to memory.
    """
    n, h, wd, c = x.shape
    kw = koff.shape[0] // (kh * c)
    wpad = (wo - 1) * stride + kw
    row = wpad * c
    per_image = (ho + tile_rows - 1) // tile_rows
    ntiles = n * per_image
    nthreads = scratch.shape[0]
    xrows = x.reshape(n, h, wd * c)
    copy = min(wd, wpad - pad_left) * c  # values of an input row inside the copy
    cout = out.shape[1]
    hp, wp2 = (ho + 1) // 2, (wo + 1) // 2  # the pooled map
    # a divisor of ones (SSD's x * s - 1) is left out: x / 1 is x, and a division a value
    # is the dearest step (conv0 in SSD's sequence, one process alternating: 1.05 -> 0.99 ms)
    divide = norm.shape[0] > 0 and any_not_one(norm[2])
    for t in prange(nthreads):
        for i in range(*thread_tiles(t, nthreads, ntiles)):
            b = i // per_image
            oy0 = (i % per_image) * tile_rows
            oy1 = min(ho, oy0 + tile_rows)
            nrows = (oy1 - oy0 - 1) * stride + kh
            pad = scratch[t, : nrows * row].reshape(nrows, row)
            padded_rows(xrows, b, oy0 * stride - pad_top, pad_left * c, copy, norm, divide, pad)
            # pooled: each pair of output rows into the thread's pair buffer, then pooled
            pair = tile_out[t, : (2 * wo if pooled else 0) * cout].reshape(-1, cout)
            for oy in range(oy0, oy1):
                a = pad[(oy - oy0) * stride :]
                q = (b * ho + oy) * wo
                dst = pair[(oy - oy0) % 2 * wo :] if pooled else out[q:]
                gemm_rows_at(
                    a.ctypes.data, stride * c, koff, wp, dst[:wo], wo,
                    bias, scale_w, scale_b, residual, q, act,
                )  # fmt: skip
                if pooled and ((oy - oy0) % 2 == 1 or oy == ho - 1):
                    p = (b * hp + oy // 2) * wp2  # the second row, or a last one alone
                    pool2x2_row(pair[:wo], dst[:wo], 2, True, out[p : p + wp2])
    return out
