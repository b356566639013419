"""One block of the numba convs' matrix product, written in LLVM IR: ``c = epi(a @ b)``.

Computes a block of ``MR = 12`` rows by ``NR = 16`` columns of a product: each output
summed over K in its own lane of twelve 16-float vector registers (one a row), one
broadcast of ``a[i, k]`` times one row of 16 filter values per step, then the conv's
epilogue (bias, scale layer, residual, activation) before it is stored. ``gemm.py`` cuts
whole products into such blocks. NumPy reference: ``cols @ w`` and the epilogue passes in
the NumPy backend's conv2d.

Why LLVM IR: numba's pipeline does not vectorise an accumulator block (``conv2d.py``: a
register-blocked direct conv in plain numba was 4x slower than BLAS), so the loop is
emitted here through ``llvmlite`` inside a numba ``@intrinsic``, with explicit ``<16 x
float>`` vectors and ``llvm.fma``. LLVM maps them to the machine's vector unit (one
AVX-512 register; two AVX2 ones; four NEON ones on ARM). A kernel that calls the
intrinsic is compiled and cached by numba as any other.

Why 16-float vectors: with two 8-float vectors a row, a step of K was 20 instructions
(6 broadcasts, 2 loads, 12 multiply-adds), and whether the front end kept up depended on
LLVM's code layout around the loop: 100-111 GFLOP/s on one Zen 4 core (of 117). With one
AVX-512 register a row the broadcast folds into the multiply-add (``{1to16}``): 114-116
on every shape, with or without the epilogue; whole nets 0.87-0.97x the time (the same
bits: the same multiply-adds in the same order).

Why 12 rows: a step's multiply-adds depend on the step before through their
accumulators, so a block has at most MR in flight: enough with 6 where a 512-bit
multiply-add issues once a cycle (Zen 4 splits it in two halves), not where two issue a
cycle with a latency of 4 (Zen 5: 6 in flight for 8 slots). With 12 the loop is 12
multiply-adds and one load a step, in 24 of the 32 vector registers. Measured on a Zen 5
core, GFLOP/s, best of 15, MR 6 -> 12 (8, 10, 14 in brackets): (1024, 512) @ (512, 512)
191 -> 215 (204, 199, 180); (96, 256) @ (256, 256) 203 -> 245 (209, 209, 182); (4096,
32) @ (32, 64) 162 -> 190 (191, 185, 163); (289, 576) @ (576, 64) 185 -> 207 (219, 189,
165); (16, 2304) @ (2304, 256) 159 -> 135 (178, 152, 98: 12 rows over 16 compute 8 they
do not store). Whole nets on 2 cores, the two trees in separate processes alternating,
best medians of 3 rounds (ms): SSD 20.44 -> 18.70, FaceLandmark68Net 0.440 -> 0.418 and
3.068 -> 2.910 at batch 8, FaceLandmark68TinyNet 0.252 -> 0.245 and 1.709 -> 1.650, Tiny
Face Detector 1.658 -> 1.602, the recognition net at batch 8 10.52 -> 9.99 (at batch 1
the same, 1.77-1.84 -> 1.78-1.79). The same bits.

"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .epilogue_ir import Loader, emit_by_epilogue, emit_epilogue, maybe

#: Rows of ``a`` a block takes (one broadcast each per step; see "Why 12 rows").
MR = 8
#: Floats a vector holds (LLVM splits a longer vector into the machine's registers).
VW = 16
#: Vectors a row of the block holds (see "Why 8 rows of two vectors").
NV = 2
#: Filter columns a panel holds.
NR = NV * VW
#: Rows a narrow block takes: one vector a row (see "Narrow blocks").
NARROW_MR = 12


def vector_at(builder, p, i, ld, h, step):
    """A vector pointer to row ``i``'s vector ``h`` at float pointer ``p`` (rows ``ld``
    floats apart, a row's vectors ``step`` apart; ``ld`` and ``step`` IR values)."""
    l64 = ir.IntType(64)
    off = builder.add(builder.mul(ir.Constant(l64, i), ld), builder.mul(ir.Constant(l64, h), step))
    return builder.bitcast(builder.gep(p, [off]), ir.VectorType(ir.FloatType(), VW).as_pointer())


def _emit_block(builder, args, offsets, mr, nv):
    """The IR of one block product of ``mr`` rows by ``nv`` vectors (see
    :func:`block_product`), reading a panel of ``NR`` columns; with ``offsets``, row
    ``i``'s value ``k`` is read at ``a + i * lda + koff[k]`` instead of ``a + i * lda + k``."""
    if offsets:
        a_v, lda_v, koff_v, b_v, c_v, ldc_v, hs_v, k_v, rows_v, cols_v, acc_v, *epi = args
    else:
        a_v, lda_v, b_v, c_v, ldc_v, hs_v, k_v, rows_v, cols_v, acc_v, *epi = args
    bias_v, sw_v, sb_v, res_v, ldr_v, terms_v, act_v = epi
    f32, l64, i32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
    vec = ir.VectorType(f32, VW)
    fptr, vptr = f32.as_pointer(), vec.as_pointer()
    fma = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fma.v{VW}f32"
    )

    def const(v):
        return ir.Constant(l64, v)

    a_p, b_p, c_p = (builder.inttoptr(v, fptr) for v in (a_v, b_v, c_v))
    bias_p, sw_p, sb_p, res_p = (builder.inttoptr(v, fptr) for v in (bias_v, sw_v, sb_v, res_v))
    koff_p = builder.inttoptr(koff_v, l64.as_pointer()) if offsets else None
    # row i of the block, or the last row where the block is short
    last = builder.sub(rows_v, const(1))
    a_rows = []
    for i in range(mr):
        r = builder.select(builder.icmp_signed("<", const(i), rows_v), const(i), last)
        a_rows.append(builder.gep(a_p, [builder.mul(r, lda_v)]))
    zero = ir.Constant(vec, [0.0] * VW)
    undef = ir.Constant(vec, ir.Undefined)
    splat = ir.Constant(ir.VectorType(i32, VW), [0] * VW)

    # for k in range(K): acc[i][h] = fma(a[i, k], b[k, 8h:8h+8], acc[i][h])
    entry = builder.block
    loop = builder.append_basic_block("block.k")
    done = builder.append_basic_block("block.done")
    builder.cbranch(builder.icmp_signed(">", k_v, const(0)), loop, done)
    builder.position_at_end(loop)
    kk = builder.phi(l64)
    acc = [builder.phi(vec) for _ in range(nv * mr)]
    b_row = builder.gep(b_p, [builder.mul(kk, const(NR))])
    b_half = [
        builder.load(builder.bitcast(builder.gep(b_row, [const(VW * h)]), vptr), align=4)
        for h in range(nv)
    ]
    at = builder.load(builder.gep(koff_p, [kk]), align=8) if offsets else kk
    new = []
    for i in range(mr):
        s = builder.load(builder.gep(a_rows[i], [at]), align=4)
        s = builder.shuffle_vector(
            builder.insert_element(undef, s, ir.Constant(i32, 0)), undef, splat
        )
        new += [builder.call(fma, [s, b_half[h], acc[nv * i + h]]) for h in range(nv)]
    k_next = builder.add(kk, const(1))
    kk.add_incoming(const(0), entry)
    kk.add_incoming(k_next, loop)
    for phi, v in zip(acc, new):
        phi.add_incoming(zero, entry)
        phi.add_incoming(v, loop)
    builder.cbranch(builder.icmp_signed("<", k_next, k_v), loop, done)

    # store the block, through the epilogue: a whole panel with one of the nets' (terms,
    # act) pairs as straight-line vector code; a short panel (whose terms may end before
    # the panel does) or another pair as masked vectors, each term behind a branch
    builder.position_at_end(done)
    sums = []
    for v in new:
        phi = builder.phi(vec)
        phi.add_incoming(zero, entry)
        phi.add_incoming(v, loop)
        sums.append(phi)

    def add_old(ptr, val, load):  # c + sums when accumulating, else the sums as they are
        return maybe(builder, acc_v, val, lambda u: builder.fadd(load(ptr), u))

    def store_rows(terms, act, masks=None):  # every row's vectors, through the epilogue
        for i in range(mr):
            with builder.if_then(builder.icmp_signed("<", const(i), rows_v)):
                for h in range(nv):
                    c_row = vector_at(builder, c_p, i, ldc_v, h, hs_v)
                    r_row = vector_at(builder, res_p, i, ldr_v, h, const(VW))
                    ptrs = tuple(
                        builder.bitcast(builder.gep(p, [const(VW * h)]), vptr)
                        for p in (bias_p, sw_p, sb_p)
                    )
                    load = Loader(builder, ptrs, vec, None if masks is None else masks[h])
                    val = add_old(c_row, sums[nv * i + h], load)
                    if terms is not None:
                        val = emit_epilogue(builder, val, load, r_row, terms, act)
                    load.store(val, c_row)

    # the lanes a short panel stores: those before ``cols``
    lanes = ir.Constant(ir.VectorType(i32, VW), list(range(VW)))
    count = builder.insert_element(
        ir.Constant(ir.VectorType(i32, VW), ir.Undefined), builder.trunc(cols_v, i32),
        ir.Constant(i32, 0),
    )  # fmt: skip
    count = builder.shuffle_vector(count, ir.Constant(count.type, ir.Undefined), splat)
    masks = [
        builder.icmp_signed("<", ir.Constant(lanes.type, list(range(VW * h, VW * h + VW))), count)
        for h in range(nv)
    ]

    def store(terms, act):  # a pair's own code, or the masked path for all the others
        if isinstance(terms, int):
            store_rows(None if terms == act == 0 else terms, act)
        else:  # one masked path instead of value-by-value code: ~3x faster to compile
            store_rows(terms, act, masks)

    whole = builder.icmp_signed("==", cols_v, const(nv * VW))
    emit_by_epilogue(builder, terms_v, act_v, store, "store", common=whole)


#: The block's arguments (see :func:`block_product`): a, lda, b, c, ldc, hstride, k, rows,
#: cols, accumulate, then the epilogue's bias, scale_w, scale_b, residual, ldr, terms, act.
_I64, _PTR = types.int64, types.uintp
_SIG = types.void(_PTR, _I64, _PTR, _PTR, _I64, _I64, _I64, _I64, _I64, types.boolean,
                  *(_PTR,) * 4, *(_I64,) * 3)  # fmt: skip
#: The same with ``koff`` after ``lda`` (:func:`block_product_at`).
_SIG_AT = types.void(*_SIG.args[:2], _PTR, *_SIG.args[2:])


def _codegen(offsets, mr, nv):
    def codegen(context, builder, signature, args):
        _emit_block(builder, args, offsets, mr, nv)
        return context.get_dummy_value()

    return codegen


@intrinsic
def block_product(
    typingctx, a, lda, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb, res, ldr,
    terms, act,
):  # fmt: skip
    """``c[i, j] = epi(acc * c[i, j] + sum_k a[i, k] * b[k, j])`` for ``i < rows <= MR``,
    ``j < cols <= NR`` (``acc`` 1 with ``accumulate``, else 0).

    ``a``, ``b``, ``c`` are data addresses; ``a`` has row stride ``lda``, ``c`` ``ldc``
    (floats), and a row of ``c`` holds its ``NV`` vectors ``hstride`` floats apart (16
    for rows as they lie, more for rows in channel blocks); ``b`` is one packed panel (K,
    NR). Rows past ``rows`` read the last row (valid memory) and are not stored; columns
    past ``cols`` are not stored. The epilogue: ``bias``, ``sw``, ``sb``, ``res`` the
    addresses of the bias, scale and residual at this block's first column (and row),
    ``ldr`` the residual's row stride, ``terms`` the bits of those present, ``act`` the
    activation code; ``epi`` is the identity when ``terms`` and ``act`` are 0.
    """
    return _SIG, _codegen(False, MR, NV)


@intrinsic
def block_product_narrow(
    typingctx, a, lda, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb, res, ldr,
    terms, act,
):  # fmt: skip
    """As :func:`block_product` for ``cols <= 16``: ``NARROW_MR`` rows by one vector, the
    first 16 columns of the panel (see "Narrow blocks")."""
    return _SIG, _codegen(False, NARROW_MR, 1)


@intrinsic
def block_product_at(
    typingctx, a, lda, koff, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb, res,
    ldr, terms, act,
):  # fmt: skip
    """As :func:`block_product`, with ``a[i, k]`` read at ``a + i * lda + koff[k]``
    (``koff`` the address of K int64 offsets, in floats): a convolution's receptive
    fields read where they lie in the (padded) input, with no im2col copy."""
    return _SIG_AT, _codegen(True, MR, NV)


@intrinsic
def block_product_at_narrow(
    typingctx, a, lda, koff, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb, res,
    ldr, terms, act,
):  # fmt: skip
    """:func:`block_product_at` as :func:`block_product_narrow` is :func:`block_product`."""
    return _SIG_AT, _codegen(True, NARROW_MR, 1)


@intrinsic
def prefetch_l2(typingctx, addr):
    """Ask for the cache line at address ``addr`` to be brought into L2 (``llvm.prefetch``,
    read, locality 2: x86's ``prefetcht1``); a hint, never a fault."""
    sig = types.void(types.uintp)

    def codegen(context, builder, signature, args):
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn_type = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, "llvm.prefetch.p0i8")
        at = builder.inttoptr(args[0], i8p)
        builder.call(fn, [at, ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
