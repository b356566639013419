"""The float32 matrix product inside every numba conv: ``c (+)= a @ w`` with ``w`` packed once.

Computes ``c[:, c0:c1] = a @ w[:, c0:c1]`` (or ``+=``) for a row-major ``a`` (M, K) whose
rows may be strided (a tile of im2col rows, or activation rows as they lie) and a filter
matrix ``w`` (K, N) packed ahead of time by :func:`pack`. NumPy reference: ``cols @ w``
in the NumPy backend's conv2d.

The method is the one every fast BLAS uses (Goto and van de Geijn, "Anatomy of
High-Performance Matrix Multiplication", 2008): the product is cut into blocks of
``MR = 6`` rows by ``NR = 16`` columns, and each block is summed over K in 12 vector
registers (6 rows x two 8-float vectors), one broadcast of ``a[i, k]`` times one row of
16 filter values per step: 12 fused multiply-adds for 2 vector loads and 6 scalar ones,
so the loop runs at the speed of the multiply-add units, not of memory.

Why it is written in LLVM IR: numba's pipeline does not vectorise an accumulator block
(see ``conv2d.py``: a register-blocked direct conv in plain numba was 4x slower than
BLAS), so :func:`_block_product` emits the loop itself through ``llvmlite``, with
explicit ``<8 x float>`` vectors and ``llvm.fma``. LLVM maps them to the machine's
vector unit (two AVX2 registers or halves of AVX-512 ones; NEON on ARM). This is the
whole of the generated code: everything around it (packing, blocking, edges) is numba.

Why the filter is packed: the filter is the same on every call, so it is laid out once
(:func:`pack`, kept by the backend with the weights) as panels of 16 columns, each
K rows of 16 contiguous floats: the block loop reads it as one stream. A BLAS packs
its operands again on every call; for the thin products of a tiled conv (a tile of
6-1000 rows against a 2.4 MB filter) that packing cost as much as the product.

Measured (one core of the 2-core AVX-512 machine, GFLOP/s, best of 30; this kernel
against ``np.matmul`` on NumPy's OpenBLAS, which packs both operands each call):
(1024, 512) @ (512, 512) 108 / 103; (16, 2304) @ (2304, 256) 102 / 75;
(1500, 288) @ (288, 32) 110 / 93; (4096, 32) @ (32, 64) 102 / 89;
(289, 576) @ (576, 64) 111 / 100. The machine's peak is ~112. Blocks of rows outside
(each block against every panel) and panels outside measured alike.

Rounding: each output is summed over K in order, in one float32 accumulator with fused
multiply-adds (BLAS sums in blocks of K); results differ from ``np.matmul``'s by a few
ulps of the partial sums, as two BLAS builds do.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Rows of ``a`` a block takes (one broadcast each per step).
MR = 6
#: Filter columns a panel holds (two 8-float vectors).
NR = 16
#: Rows of ``a`` taken against the filter at a time.
MC = 96
#: Depth of K taken at a time: a panel's KC rows are 16 KiB.
KC = 256


def pack(wmat: np.ndarray) -> np.ndarray:
    """``wmat`` (K, N) as panels (ceil(N/16), K, 16): panel ``p`` holds columns
    ``16p .. 16p+15``, zero-padded past N. Done once per filter."""
    k, n = wmat.shape
    panels = -(-n // NR)
    padded = np.zeros((k, panels * NR), np.float32)
    padded[:, :n] = wmat
    return np.ascontiguousarray(padded.reshape(k, panels, NR).transpose(1, 0, 2))


def _emit_block(builder, args, offsets):
    """The IR of one block product (see :func:`_block_product`); with ``offsets``, row
    ``i``'s value ``k`` is read at ``a + i * lda + koff[k]`` instead of ``a + i * lda + k``."""
    if offsets:
        a_v, lda_v, koff_v, b_v, c_v, ldc_v, k_v, rows_v, cols_v, acc_v = args
    else:
        a_v, lda_v, b_v, c_v, ldc_v, k_v, rows_v, cols_v, acc_v = args
    f32, l64, i32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
    vec = ir.VectorType(f32, 8)
    fptr, vptr = f32.as_pointer(), vec.as_pointer()
    fma = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vec, [vec, vec, vec]), "llvm.fma.v8f32"
    )

    def const(v):
        return ir.Constant(l64, v)

    a_p, b_p, c_p = (builder.inttoptr(v, fptr) for v in (a_v, b_v, c_v))
    koff_p = builder.inttoptr(koff_v, l64.as_pointer()) if offsets else None
    # row i of the block, or the last row where the block is short
    last = builder.sub(rows_v, const(1))
    a_rows = []
    for i in range(MR):
        r = builder.select(builder.icmp_signed("<", const(i), rows_v), const(i), last)
        a_rows.append(builder.gep(a_p, [builder.mul(r, lda_v)]))
    zero = ir.Constant(vec, [0.0] * 8)
    undef = ir.Constant(vec, ir.Undefined)
    splat = ir.Constant(ir.VectorType(i32, 8), [0] * 8)

    # for k in range(K): acc[i][h] = fma(a[i, k], b[k, 8h:8h+8], acc[i][h])
    entry = builder.block
    loop = builder.append_basic_block("block.k")
    done = builder.append_basic_block("block.done")
    builder.cbranch(builder.icmp_signed(">", k_v, const(0)), loop, done)
    builder.position_at_end(loop)
    kk = builder.phi(l64)
    acc = [builder.phi(vec) for _ in range(2 * MR)]
    b_row = builder.gep(b_p, [builder.mul(kk, const(NR))])
    b_half = [
        builder.load(builder.bitcast(builder.gep(b_row, [const(8 * h)]), vptr), align=4)
        for h in range(2)
    ]
    at = builder.load(builder.gep(koff_p, [kk]), align=8) if offsets else kk
    new = []
    for i in range(MR):
        s = builder.load(builder.gep(a_rows[i], [at]), align=4)
        s = builder.shuffle_vector(
            builder.insert_element(undef, s, ir.Constant(i32, 0)), undef, splat
        )
        new += [builder.call(fma, [s, b_half[h], acc[2 * i + h]]) for h in range(2)]
    k_next = builder.add(kk, const(1))
    kk.add_incoming(const(0), entry)
    kk.add_incoming(k_next, loop)
    for phi, v in zip(acc, new):
        phi.add_incoming(zero, entry)
        phi.add_incoming(v, loop)
    builder.cbranch(builder.icmp_signed("<", k_next, k_v), loop, done)

    # store the block: whole 8-float vectors, or value by value in a short panel
    builder.position_at_end(done)
    sums = []
    for v in new:
        phi = builder.phi(vec)
        phi.add_incoming(zero, entry)
        phi.add_incoming(v, loop)
        sums.append(phi)
    whole = builder.icmp_signed("==", cols_v, const(NR))
    for i in range(MR):
        with builder.if_then(builder.icmp_signed("<", const(i), rows_v)):
            c_row = builder.gep(c_p, [builder.mul(const(i), ldc_v)])
            with builder.if_else(whole) as (vectors, values):
                with vectors:
                    for h in range(2):
                        ptr = builder.bitcast(builder.gep(c_row, [const(8 * h)]), vptr)
                        val = sums[2 * i + h]
                        with builder.if_then(acc_v):
                            val_old = builder.load(ptr, align=4)
                            builder.store(builder.fadd(val_old, val), ptr, align=4)
                        with builder.if_then(builder.not_(acc_v)):
                            builder.store(val, ptr, align=4)
                with values:
                    for j in range(NR):
                        with builder.if_then(builder.icmp_signed("<", const(j), cols_v)):
                            ptr = builder.gep(c_row, [const(j)])
                            val = builder.extract_element(
                                sums[2 * i + j // 8], ir.Constant(i32, j % 8)
                            )
                            old = builder.select(
                                acc_v, builder.load(ptr, align=4), ir.Constant(f32, 0.0)
                            )
                            builder.store(builder.fadd(old, val), ptr, align=4)


@intrinsic
def _block_product(typingctx, a, lda, b, c, ldc, k, rows, cols, accumulate):
    """``c[i, j] (+)= sum_k a[i, k] * b[k, j]`` for ``i < rows <= 6``, ``j < cols <= 16``.

    ``a``, ``b``, ``c`` are data addresses; ``a`` has row stride ``lda``, ``c`` ``ldc``
    (floats); ``b`` is one packed panel (K, 16). Rows past ``rows`` read the last row
    (valid memory) and are not stored; columns past ``cols`` are not stored.
    """
    i64 = types.int64
    sig = types.void(types.uintp, i64, types.uintp, types.uintp, i64, i64, i64, i64, types.boolean)

    def codegen(context, builder, signature, args):
        _emit_block(builder, args, offsets=False)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _block_product_at(typingctx, a, lda, koff, b, c, ldc, k, rows, cols, accumulate):
    """As :func:`_block_product`, with ``a[i, k]`` read at ``a + i * lda + koff[k]``
    (``koff`` the address of K int64 offsets, in floats): a convolution's receptive
    fields read where they lie in the (padded) input, with no im2col copy."""
    i64, ptr = types.int64, types.uintp
    sig = types.void(ptr, i64, ptr, ptr, ptr, i64, i64, i64, i64, types.boolean)

    def codegen(context, builder, signature, args):
        _emit_block(builder, args, offsets=True)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def gemm_packed(a, wp, c, c0, c1, accumulate=False):
    """``c[:, c0:c1] = a @ w[:, c0:c1]`` (``+=`` with ``accumulate``) for ``wp = pack(w)``.

    ``a`` (M, K) and ``c`` (M, >= c1) float32 with unit column stride (rows may be
    strided); ``c0`` a multiple of 16. Blocked as a BLAS is: ``MC`` rows by ``KC`` of K
    at a time (their ``a`` stays in L2), each panel's ``KC`` rows (16 KiB, in L1) taken
    against every block of 6 rows in turn.
    """
    m, k = a.shape
    if m == 0 or c1 <= c0:
        return
    lda, ldc = a.strides[0] // 4, c.strides[0] // 4
    a_addr, c_addr, w_addr = a.ctypes.data, c.ctypes.data, wp.ctypes.data
    for mc in range(0, m, MC):
        mc1 = min(m, mc + MC)
        for k0 in range(0, k, KC):
            kc = min(KC, k - k0)
            for j0 in range(c0, c1, NR):
                panel = w_addr + 4 * ((j0 // NR) * k + k0) * NR
                for m0 in range(mc, mc1, MR):
                    _block_product(
                        a_addr + 4 * (m0 * lda + k0),
                        lda,
                        panel,
                        c_addr + 4 * (m0 * ldc + j0),
                        ldc,
                        kc,
                        min(MR, mc1 - m0),
                        min(NR, c1 - j0),
                        accumulate or k0 > 0,
                    )


@njit(inline="always")
def gemm_rows_at(a_addr, lda, koff, wp, c, rows):
    """``c[i, :] = sum_k a[i * lda + koff[k]] * w[k, :]`` for ``i < rows``, ``wp = pack(w)``.

    ``a_addr`` is the address of the first row's first value; ``koff`` (K,) int64 the
    offsets, in floats, of a row's K values (a receptive field in a padded input);
    ``c`` (>= rows, N) float32 with unit column stride. K is small (a first layer's
    KH*KW*C_in), so there is no blocking of K.
    """
    k = koff.shape[0]
    n = c.shape[1]
    ldc = c.strides[0] // 4
    c_addr, w_addr, k_addr = c.ctypes.data, wp.ctypes.data, koff.ctypes.data
    for j0 in range(0, n, NR):
        panel = w_addr + 4 * (j0 // NR) * k * NR
        for m0 in range(0, rows, MR):
            _block_product_at(
                a_addr + 4 * m0 * lda,
                lda,
                k_addr,
                panel,
                c_addr + 4 * (m0 * ldc + j0),
                ldc,
                k,
                min(MR, rows - m0),
                min(NR, n - j0),
                False,
            )
