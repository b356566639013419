"""The float32 matrix product inside every numba conv: ``c (+)= a @ w`` with ``w`` packed once.

Computes ``c[:, c0:c1] = a @ w[:, c0:c1]`` (or ``+=``) for a row-major ``a`` (M, K) whose
rows may be strided (a tile of im2col rows, or activation rows as they lie) and a filter
matrix ``w`` (K, N) packed ahead of time by :func:`pack`. NumPy reference: ``cols @ w``
in the NumPy backend's conv2d.

The method is the one every fast BLAS uses (Goto and van de Geijn, "Anatomy of
High-Performance Matrix Multiplication", 2008): the product is cut into blocks of
``MR = 8`` rows by ``NR = 32`` columns, and each block is summed over K in 16 vector
registers (two 16-float vectors a row), one broadcast of ``a[i, k]`` times one row of
32 filter values per step: 16 fused multiply-adds (16 wide) for two vector loads and 8
broadcasts, so the loop runs at the speed of the multiply-add units, not of memory
(why this shape: ``block_ir.py``).

The block loop is written in LLVM IR (``block_ir.py``: numba does not vectorise an
accumulator block); everything around it here (packing, blocking, edges) is numba.

Why the filter is packed: the filter is the same on every call, so it is laid out once
(:func:`pack`, kept by the backend with the weights) as panels of NR columns, each
K rows of NR contiguous floats: the block loop reads it as one stream. A BLAS packs
its operands again on every call; for the thin products of a tiled conv (a tile of
6-1000 rows against a 2.4 MB filter) that packing cost as much as the product.

Measured (one core, GFLOP/s, best of 15-30; this kernel against ``np.matmul`` on
NumPy's OpenBLAS, which packs both operands each call), Zen 5 / Zen 4: (1024, 512) @
(512, 512) 248 / 133 and 108 / 103; (16, 2304) @ (2304, 256) 212 / 101 and 102 / 75;
(4096, 32) @ (32, 64) 248 / 118 and 102 / 89; (289, 576) @ (576, 64) 243 / 123 and 111
/ 100 (Zen 4's peak ~112). Blocks of rows outside (each against every panel) and panels
outside measured alike, with ``c`` in cache.

Loop order, and why it changes after the first block of K: the first block of K writes
``c``, whose lines are usually cold (a conv's output, last used a forward pass ago).
Taken panel by panel, it stores one 64-byte line in each of 96 rows, 1-4 KiB apart,
then the next line of each: a pattern the hardware prefetcher does not follow, so each
store waits for its line. So the first block of K takes each block of MR rows against
every panel (the rows written whole, in order, the panels' KC rows read from L2), and
the later ones, whose ``c`` is in cache, each panel against every block of rows (its
KC rows stay in L1). Measured on SSD's planned sequence (2 cores, medians of 14 in
sequence after the steps before them, ms, panels outside -> this order): its
depth-first pairs, whose second product (K = 64-256) writes 2-8 MiB, 3.38 -> 3.16,
4.51 -> 4.36, 4.27 -> 4.22; its 32x32x512 separable convs (K = 512) 2.65 -> 2.66, 1.52
-> 1.49, 2.91 -> 2.87; rows outside in every block of K lost there (2.69, 2.94). The
whole replay, the two trees in separate processes alternating, 3 rounds: 33.4-34.4 ->
32.5-32.8 ms; FaceLandmark68Net at batch 8 5.04-5.23 -> 5.09-5.10, the recognition net
at batch 8 16.6-16.9 -> 16.0-16.4, the other nets the same within 2%. The same sums in
the same order: the outputs are the same bits.

Deep products (:data:`DEEP_ROWS`): a few rows against a filter many times deeper
(SSD's last separable conv, 128 rows a tile by K = 1024, and its 3x3 head conv, 64 by
2304) spend their time reading the filter, which is cold (1-4.7 MB, last used a
forward pass ago). There the rows are one block and each panel is taken over the whole
of K, its KC-row slices in order, against every block of rows: the filter is read once
a tile, as one stream, instead of once a block of 96 rows in 16 KiB pieces 9-150 KiB
apart. In one process, alternating, medians of 14 in sequence (ms): 3.26 -> 3.11-3.16
and 0.86 -> 0.82-0.83; a product only twice as deep (160 rows, K = 512) did not gain
(1.57 -> 1.58-1.62).

Prefetching the filter: in the later blocks of K each block of rows, as it runs, asks
for its share of the lines of the next panel's KC rows (``prefetch_l2``; they lie a
panel away), so that a cold filter (1-4.7 MB) is on its way to L2 while this slice is
used: SSD's 32x32x512 separable convs 2.69-2.81 -> 2.58-2.71 ms (planned sequence, two
trees alternating, medians of 20). Hints only: the same bits. Deep products, which read
the filter in order, asked for their next KC rows too: on Zen 4 that gained (SSD's 3x3
head conv 0.82-0.86 -> 0.76-0.78 ms), but on Zen 5 each block's burst (256-512 lines
where a product has one or two blocks of rows) held up the slice in use: the
recognition net's 1-pixel conv 0.036-0.038 with it, 0.024-0.025 without, SSD's head
conv 0.413-0.429 against 0.381-0.391; whole nets, alternating, 5 rounds, without
against with: the recognition net 1.257-1.358 against 1.265-1.372 ms (batch 1),
7.57-8.41 against 7.61-8.64 (batch 8), SSD 14.73-14.91 against 14.64-15.01. They now
leave it to the hardware's stream prefetch. Asking in the first block of K for the lines
of ``c`` the next block of rows writes (``prefetchw``) gained where ``c`` came from
memory ((336-784, 64) @ (64, 64), one core: 103-106 -> 107-110 GFLOP/s) but lost in the
nets (FaceLandmark68TinyNet at batch 8: 1.07x the time): dropped.

The conv's epilogue (``epilogue.py``: bias, scale layer, residual, activation) is applied
to the block's sums before they are stored, after the last block of K, with the same
operations in the same order (no fused multiply-add in it), so its results are the
separate pass's bit for bit; the output is written once. Measured on one core (best of
9, twice): (5382, 16) @ (16, 32) + bias 0.062 ms fused against 0.086 ms with the separate
pass (the product alone 0.054), + bias + leaky ReLU 0.072 against 0.083; (4096, 64) @
(64, 128) + bias 0.68 against 0.75; (1024, 512) @ (512, 512) + bias 5.45 against 5.64.
A first version that branched on each term for every vector cost more than the separate
pass at K = 16 (0.11 ms); one branch a block to straight-line code per (terms,
activation) pair is what ``block_ir.py`` does now.

Blocks of ``MC = 96`` rows: with 256 (so that a conv tile's rows are one block and a
large filter, SSD's 1 MB ones, is streamed once a tile instead of three times) every
net was slower, whole nets in separate processes alternating, four rounds (ms): SSD
41.1-48.5 against 43.4-51.1, FaceLandmark68TinyNet at batch 8 3.63-3.94 against
4.75-4.95, the recognition net at batch 8 26.2-32.7 against 29.3-40.6.

The entry points (``gemm_packed``, ``gemm_epilogue``, ``gemm_window``, ``gemm_rows_at``,
``gemm_turned``, ``gemm_to_blocks``) are compiled functions the kernels call, not inlined
by numba into every kernel: inlined, each kernel typed, simplified and lowered its own
copy, and compiling every kernel took 91.8 s against 68.7 s with these and
the depthwise rows function called (one run each). A call costs a few ns a tile;
whole nets in separate processes alternating, 7 rounds, moved within the noise
(FaceLandmark68TinyNet at batch 1 0.392-0.567 against 0.398-0.567 ms).

Rounding: each output is summed over K in order, in one float32 accumulator with fused
multiply-adds, in blocks of ``KC``; results differ from ``np.matmul``'s by a few ulps of
the partial sums, as two BLAS builds do (for K <= 256 they equal OpenBLAS's bit for bit
on the nets' first layers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .block_ir import (
    MR,
    NARROW_MR,
    NR,
    NV,
    SHORT_MR,
    VW,
    block_product,
    block_product_at,
    block_product_at_narrow,
    block_product_narrow,
    block_product_short,
    prefetch_l2,
)
from .epilogue_ir import BIAS, RESIDUAL, SCALE

#: Rows of ``a`` taken against the filter at a time.
MC = 96
#: Depth of K taken at a time: a panel's KC rows are 32 KiB.
KC = 256
#: A product of at most this many rows, over more than one block of K and at least four
#: times as deep as it has rows, is deep: its filter outweighs its rows' outputs, so
#: each panel is read once, over the whole of K, in order (see the module).
DEEP_ROWS = 256


def pack(wmat: np.ndarray) -> np.ndarray:
    """``wmat`` (K, N) as panels (ceil(N/NR), K, NR): panel ``p`` holds columns
    ``NR*p .. NR*p + NR-1``, zero-padded past N. Done once per filter."""
    k, n = wmat.shape
    panels = -(-n // NR)
    padded = np.zeros((k, panels * NR), np.float32)
    padded[:, :n] = wmat
    return np.ascontiguousarray(padded.reshape(k, panels, NR).transpose(1, 0, 2))


@njit(inline="always")
def epilogue_args(bias, scale_w, scale_b, residual, row0):
    """The epilogue as ``block_ir``'s block products take it: (bias, scale_w, scale_b
    addresses, the residual's address at row ``row0``, its row stride in floats, the
    ``terms`` bits of the arrays present). Zero-length arrays mean absent."""
    terms = (
        (BIAS if bias.shape[0] > 0 else 0)
        + (SCALE if scale_w.shape[0] > 0 else 0)
        + (RESIDUAL if residual.shape[0] > 0 else 0)
    )
    ldr = residual.strides[0] // 4
    res = residual.ctypes.data + 4 * row0 * ldr if terms & RESIDUAL else 0
    return bias.ctypes.data, scale_w.ctypes.data, scale_b.ctypes.data, res, ldr, terms


@njit(nogil=True)
def gemm_packed(a, wp, c, c0, c1, accumulate=False):
    """``c[:, c0:c1] = a @ w[:, c0:c1]`` (``+=`` with ``accumulate``) for ``wp = pack(w)``.

    ``a`` (M, K) and ``c`` (M, >= c1) float32 with unit column stride (rows may be
    strided); ``c0`` a multiple of ``NR``. No epilogue (see :func:`gemm_epilogue`).
    """
    _blocked(a, wp, c, c0, c1, accumulate, 0, 0, 0, 0, 0, 0, 0)


@njit(nogil=True)
def gemm_epilogue(a, wp, c, c0, c1, bias, scale_w, scale_b, residual, row0, act):
    """``c[:, c0:c1] = epilogue(a @ w[:, c0:c1])``, as :func:`gemm_packed`, with the conv
    epilogue (``epilogue.py``) applied before the sums are stored: zero-length ``bias``,
    ``scale_w``/``scale_b``, ``residual`` mean absent; ``c``'s rows are rows ``row0 ..``
    of ``residual``; ``act`` an activation code."""
    b, sw, sb, res, ldr, terms = epilogue_args(bias, scale_w, scale_b, residual, row0)
    _blocked(a, wp, c, c0, c1, False, b, sw, sb, res, ldr, terms, act)


@njit(nogil=True)
def gemm_window(
    a_addr, lda, m, k, wp, c, accumulate, final, bias, scale_w, scale_b, residual, row0, act
):
    """``c[:m] (+)= a @ w`` for ``wp = pack(w)`` (``+=`` with ``accumulate``), the epilogue
    (as :func:`gemm_epilogue`'s) applied when ``final``; ``a`` (m, k) given by its address
    and row stride ``lda`` (floats), so its rows may overlap: the windows of a padded
    input row that a conv's filter row reads for consecutive output pixels."""
    b, sw, sb, res, ldr, terms = epilogue_args(bias, scale_w, scale_b, residual, row0)
    _blocked_at(
        a_addr, lda, m, k, wp, c.ctypes.data, c.strides[0] // 4, NR, 0, c.shape[1],
        accumulate, b, sw, sb, res, ldr, terms if final else 0, act if final else 0,
    )  # fmt: skip


#: No residual rows (a zero-length residual means none).
NO_ROWS = np.zeros((0, 0), np.float32)


@njit(nogil=True)
def gemm_to_blocks(a, wp, dst, first, width, n, bias, act):
    """``act(a @ w + bias)`` for ``wp = pack(w)``, each row stored in channel blocks: row
    ``i``'s channels ``16j .. 16j + 15`` at float ``first + (j * width + i) * 16`` from
    address ``dst``, the layout of ``depthwise_ir.block_row``'s rows (``first`` the
    offset of the first row's pixel, after the padding columns; ``width`` the padded
    row's pixels); ``n`` the channels (w's N), a multiple of 16; zero-length ``bias``
    means none."""
    b, sw, sb, res, ldr, terms = epilogue_args(bias, bias[:0], bias[:0], NO_ROWS, 0)
    m, k = a.shape
    _blocked_at(
        a.ctypes.data, a.strides[0] // 4, m, k, wp, dst + 4 * first, VW, width * NR,
        0, n, False, b, sw, sb, res, ldr, terms, act,
    )  # fmt: skip


@njit(inline="always")
def _blocked(a, wp, c, c0, c1, accumulate, bias, scale_w, scale_b, residual, ldr, terms, act):
    """:func:`_blocked_at` for arrays ``a`` (rows may be strided) and ``c``."""
    m, k = a.shape
    _blocked_at(
        a.ctypes.data, a.strides[0] // 4, m, k, wp, c.ctypes.data, c.strides[0] // 4, NR,
        c0, c1, accumulate, bias, scale_w, scale_b, residual, ldr, terms, act,
    )  # fmt: skip


@njit(inline="always")
def _blocked_at(
    a_addr, lda, m, k, wp, c_addr, ldc, pstride, c0, c1, accumulate,
    bias, scale_w, scale_b, residual, ldr, terms, act,
):  # fmt: skip
    """The blocking of :func:`gemm_packed` (see the module): ``MC`` rows by ``KC`` of K
    at a time (their ``a`` stays in L2); in the first block of K each block of MR rows
    against every panel (``c``'s rows written in order), in the others each panel's
    ``KC`` rows (32 KiB, in L1) against every block of MR rows in turn. A deep product
    (:data:`DEEP_ROWS`) takes its rows as one block and each panel over the whole of K.
    The epilogue terms (addresses) only with the last block of K.
    ``c`` at ``c_addr``: row ``i``'s panel ``p`` at ``i * ldc + p * pstride`` floats
    (``pstride`` NR for rows as they lie, more for rows in channel blocks; a panel's two
    vectors ``pstride // NV`` apart)."""
    if m == 0 or c1 <= c0:
        return
    w_addr = wp.ctypes.data
    end = (c1 + NR - 1) // NR * k * NR  # floats of the panels this product reads
    npanels = (c1 - c0 + NR - 1) // NR
    nk = (k + KC - 1) // KC  # blocks of K
    deep = nk > 1 and m <= DEEP_ROWS and k >= 4 * m
    narrow = c1 - c0 <= VW  # one vector of columns (SSD's heads): narrow blocks (block_ir)
    mr = NARROW_MR if narrow else MR
    for mc in range(0, m, m if deep else MC):
        mc1 = min(m, mc + (m if deep else MC))
        nrows = (mc1 - mc + mr - 1) // mr  # blocks of mr rows
        for kb in range(1 if deep else nk):
            # three loops over (panel, block of K, block of rows) in the order of the
            # case; one call site a block shape, so that each block's code is emitted once
            if deep:  # panel, then its blocks of K in order, then rows
                n1, n2, n3 = npanels, nk, nrows
            elif kb == 0:  # rows, then panels: c's cold rows written whole, in order
                n1, n2, n3 = 1, nrows, npanels
            else:  # panels, then rows: the panel's KC rows stay in L1
                n1, n2, n3 = 1, npanels, nrows
            for i1 in range(n1):
                for i2 in range(n2):
                    for i3 in range(n3):
                        if deep:
                            j, b, r = i1, i2, i3
                        elif kb == 0:
                            j, b, r = i3, 0, i2
                        else:
                            j, b, r = i2, kb, i3
                        m0, j0, k0 = mc + r * mr, c0 + j * NR, b * KC
                        kc = min(KC, k - k0)
                        final = k0 + kc == k
                        # the next panel's KC rows, a share of their lines with each
                        # block of rows (see the module; not for a deep product)
                        if kb > 0 and not deep:
                            _prefetch_share(w_addr, ((j0 // NR + 1) * k + k0) * NR, end, r, n3)
                        args = (
                            a_addr + 4 * (m0 * lda + k0), lda,
                            w_addr + 4 * ((j0 // NR) * k + k0) * NR,
                            c_addr + 4 * (m0 * ldc + (j0 // NR) * pstride), ldc, pstride // NV,
                            kc, min(mr, mc1 - m0), min(NR, c1 - j0), accumulate or k0 > 0,
                            bias + 4 * j0, scale_w + 4 * j0, scale_b + 4 * j0,
                            residual + 4 * (m0 * ldr + j0), ldr,
                            terms if final else 0, act if final else 0,
                        )  # fmt: skip
                        if narrow:
                            block_product_narrow(*args)
                        elif mc1 - m0 <= SHORT_MR:  # the last few rows (block_ir.py)
                            block_product_short(*args)
                        else:
                            block_product(*args)


@njit(inline="always")
def _prefetch_share(w_addr, at, end, r, nrows):
    """Block of rows ``r`` of ``nrows``'s share of the lines of the filter's next ``KC``
    rows of a panel (the floats at ``at``, up to ``end``) into L2."""
    lines = KC * NR * 4 // 64
    per = (lines + nrows - 1) // nrows
    first = at * 4 + r * per * 64
    last = min(at + KC * NR, end) * 4
    for q in range(first, min(first + per * 64, last), 64):
        prefetch_l2(w_addr + q)


@njit(nogil=True)
def gemm_rows_at(a_addr, lda, koff, wp, c, rows, bias, scale_w, scale_b, residual, row0, act):
    """``c[i, :] = epilogue(sum_k a[i * lda + koff[k]] * w[k, :])`` for ``i < rows``,
    ``wp = pack(w)``, epilogue terms as :func:`gemm_epilogue`'s.

    ``a_addr`` is the address of the first row's first value; ``koff`` (K,) int64 the
    offsets, in floats, of a row's K values (a receptive field in a padded input);
    ``c`` (>= rows, N) float32 with unit column stride. K is small (a first layer's
    KH*KW*C_in), so there is no blocking of K.
    """
    b, sw, sb, res, ldr, terms = epilogue_args(bias, scale_w, scale_b, residual, row0)
    _rows_at(
        a_addr, lda, koff, wp, c.ctypes.data, c.strides[0] // 4, NR, c.shape[1], rows,
        b, sw, sb, res, ldr, terms, act,
    )  # fmt: skip


@njit(nogil=True)
def gemm_rows_to_blocks(a_addr, lda, koff, wp, dst, first, width, n, rows, bias, act):
    """:func:`gemm_rows_at` (bias and activation only) with each row stored in channel
    blocks at address ``dst``, as :func:`gemm_to_blocks` stores its rows; ``n`` the
    channels."""
    b, sw, sb, res, ldr, terms = epilogue_args(bias, bias[:0], bias[:0], NO_ROWS, 0)
    _rows_at(
        a_addr, lda, koff, wp, dst + 4 * first, VW, width * NR, n, rows, b, sw, sb, res, ldr,
        terms, act,
    )  # fmt: skip


@njit(inline="always")
def _rows_at(
    a_addr, lda, koff, wp, c_addr, ldc, pstride, n, rows, bias, scale_w, scale_b, residual, ldr,
    terms, act,
):  # fmt: skip
    """The loop of :func:`gemm_rows_at`: each panel against every block of MR rows; ``c``
    at ``c_addr`` laid out as :func:`_blocked_at`'s."""
    k = koff.shape[0]
    w_addr, k_addr = wp.ctypes.data, koff.ctypes.data
    if n <= VW:  # one vector of columns (Tiny Face Detector's first conv): narrow blocks
        for m0 in range(0, rows, NARROW_MR):
            block_product_at_narrow(
                a_addr + 4 * m0 * lda, lda, k_addr, w_addr, c_addr + 4 * m0 * ldc, ldc, VW, k,
                min(NARROW_MR, rows - m0), n, False, bias, scale_w, scale_b,
                residual + 4 * m0 * ldr, ldr, terms, act,
            )  # fmt: skip
        return
    for j0 in range(0, n, NR):
        panel = w_addr + 4 * (j0 // NR) * k * NR
        for m0 in range(0, rows, MR):
            block_product_at(
                a_addr + 4 * m0 * lda,
                lda,
                k_addr,
                panel,
                c_addr + 4 * (m0 * ldc + (j0 // NR) * pstride),
                ldc,
                pstride // NV,
                k,
                min(MR, rows - m0),
                min(NR, n - j0),
                False,
                bias + 4 * j0,
                scale_w + 4 * j0,
                scale_b + 4 * j0,
                residual + 4 * (m0 * ldr + j0),
                ldr,
                terms,
                act,
            )


@njit(nogil=True)
def gemm_turned(wt, panel, ct, r0, r1):
    """``ct[r - r0, :] = wt[r, :] @ panel`` for filter rows ``r0 .. r1``: the product
    turned around for a conv with few output pixels (<= 16), where the filter (``wt``,
    (C_out, K), its transpose packed once) is the operand read once, a row broadcast at a
    time, and the pixels' receptive fields are the one panel ``panel`` (K, NR) kept in L2.
    ``ct`` (>= r1 - r0, NR) float32 rows; no epilogue. K is not blocked: a block's sums
    stay in registers for the whole of K.

    The recognition net's 256-filter 3x3 convs (2.4 MB of filter): 128 rows on one core
    45 us (212 GFLOP/s), the filter in L2 or cycled with five others (14 MB) alike. Tried:
    the filter in groups of 12 filters interleaved (one stream a block, not 12 rows 9 KiB
    apart): 0.111-0.115 ms a conv against 0.082; asking ahead for the first 1-4 KiB of the
    next block's rows: 0.078-0.081, noise. Both dropped."""
    k = wt.shape[1]
    ldw, ldc = wt.strides[0] // 4, ct.strides[0] // 4
    w_addr, c_addr, p_addr = wt.ctypes.data, ct.ctypes.data, panel.ctypes.data
    for m0 in range(r0, r1, NARROW_MR):  # <= 16 pixels: the panel's first vector
        block_product_narrow(
            w_addr + 4 * m0 * ldw, ldw, p_addr, c_addr + 4 * (m0 - r0) * ldc, ldc, VW, k,
            min(NARROW_MR, r1 - m0), VW, False, 0, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip
