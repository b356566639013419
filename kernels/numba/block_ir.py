"""One block of the numba convs' matrix product, written in LLVM IR: ``c = epi(a @ b)``.

Computes a block of ``MR = 8`` rows by ``NR = 32`` columns of a product: each output
summed over K in its own lane of sixteen 16-float vector registers (two a row), one
broadcast of ``a[i, k]`` times one row of 32 filter values per step, then the conv's
epilogue (``epilogue_ir.py``: bias, scale layer, residual, activation) before it is
stored; a narrow block (``NARROW_MR = 12`` rows by one vector) for products of at most 16
columns, and a short one (``SHORT_MR = 4`` rows) for a product's last few rows.
``gemm.py`` cuts whole products into such blocks. NumPy reference: ``cols @ w`` and the
epilogue passes in the NumPy backend's conv2d.

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

Why 8 rows of two vectors: a step's multiply-adds depend on the step before through
their accumulators, so a block has at most MR * NV in flight, and a step loads NV filter
vectors and broadcasts MR values of ``a`` (each folded into its multiply-adds when NV is
1, one broadcast for two when it is 2). Zen 4 issues a 512-bit multiply-add once a cycle
(in two 256-bit halves): 6 rows of one vector kept up there. Zen 5 issues two a cycle
with a latency of 4, so it needs 8 in flight and, at two a cycle, loads to match: 6 rows
of one vector leave a quarter of the slots empty; 12 rows fill them with 13 loads for 12
multiply-adds; 8 rows of two vectors need 10 loads (2 vectors, 8 broadcasts) for 16.
One Zen 5 core, GFLOP/s, best of 15 (noise about 5%), MR x NV 6x1 -> 12x1 -> 8x2 (6x2,
4x2): (1024, 512) @ (512, 512) 191 -> 215 -> 248 (251, 205); (96, 256) @ (256, 256) 203
-> 245 -> 256 (255, 222); (4096, 32) @ (32, 64) 162 -> 190 -> 248 (239, 205); (289, 576)
@ (576, 64) 185 -> 207 -> 243 (243, 214); (16, 2304) @ (2304, 256) 159 -> 135 -> 212
(190, 190); (1024, 1024) @ (1024, 1024) 196 -> 187 -> 237 (237, 207). KC 128 and 512, MC
48 and 192 measured alike. Whole nets on 2 cores, the trees in separate processes
alternating, best medians of 3 rounds (ms), 6x1 -> 12x1 -> 8x2: SSD 20.44 -> 18.60 ->
15.50, FaceLandmark68Net 0.440 -> 0.424 -> 0.356 and at batch 8 3.068 -> 2.792 -> 2.398,
FaceLandmark68TinyNet 0.252 -> 0.242 -> 0.198 and 1.709 -> 1.663 -> 1.355, the recognition
net 1.77 -> 1.71 -> 1.71 and at batch 8 10.52 -> 10.03 -> 7.99, Tiny Face Detector 1.66
-> 1.65 -> 1.65. Each output's sums are the same multiply-adds in the same order, so
every shape gives the same bits.

Narrow blocks: a panel of 32 columns makes a product of 16 (Tiny Face Detector's first
conv, 3 -> 16 channels on 416x416, half its net's time; the turned-around product of the
recognition net's 4x4 maps, 16 pixels) compute a second vector it never stores. Those
take ``NARROW_MR`` rows by the panel's first vector instead (``gemm._rows_at``,
``gemm.gemm_turned``): Tiny Face Detector 1.65 -> 1.42 ms, the recognition net 1.71 ->
1.51 (alternating as above, 3 rounds).

Short blocks: a block of 8 rows sums all 8 whatever ``rows`` says, so a product's last
1-4 rows (a tile of 98 pixels: 12 blocks and 2 rows) or a product of one row (a 1x1
output: the recognition net's last 3x3 conv at batch 1) cost a whole block. Those take
``SHORT_MR`` = 4 rows by two vectors (``gemm._blocked_at``): 8 multiply-adds in flight
still fill the units. In the nets' planned sequences, the two trees in separate
processes alternating, 3 rounds (ms): FaceLandmark68Net at batch 8's (8, 7, 7, 256)
separable convs 0.123-0.129 -> 0.122-0.125, the recognition net's 1-pixel conv 0.046-0.056
-> 0.037-0.046; compiling every kernel 83 -> 84 s.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .epilogue_ir import Loader, emit_by_epilogue, emit_epilogue, maybe

#: Rows of ``a`` a block takes (one broadcast each per step; see "Why 8 rows of two vectors").
MR = 8
#: Floats a vector holds (LLVM splits a longer vector into the machine's registers).
VW = 16
#: Vectors a row of the block holds (see "Why 8 rows of two vectors").
NV = 2
#: Filter columns a panel holds.
NR = NV * VW
#: Rows a narrow block takes: one vector a row (see "Narrow blocks").
NARROW_MR = 12
#: Rows a short block takes: a product's last rows where they are this few (see "Short
#: blocks").
SHORT_MR = 4


def _vector_at(builder, p, i, ld, h, step):
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
        loads = [
            Loader(builder, terms_at[h], vec, None if masks is None else masks[h])
            for h in range(nv)
        ]
        if masks is None and isinstance(terms, int):
            for load in loads:  # a pair's bias and scale vectors, read once for all the rows
                load.keep(terms)
        for i in range(mr):
            with builder.if_then(builder.icmp_signed("<", const(i), rows_v)):
                for h in range(nv):
                    c_row = _vector_at(builder, c_p, i, ldc_v, h, hs_v)
                    r_row = _vector_at(builder, res_p, i, ldr_v, h, const(VW))
                    load = loads[h]
                    val = add_old(c_row, sums[nv * i + h], load)
                    if terms is not None:
                        val = emit_epilogue(builder, val, load, r_row, terms, act)
                    load.store(val, c_row)

    # the bias and scale pointers at each of a row's vectors (the same for every row)
    terms_at = [
        tuple(builder.bitcast(builder.gep(p, [const(VW * h)]), vptr) for p in (bias_p, sw_p, sb_p))
        for h in range(nv)
    ]
    # the lanes a short panel stores: those before ``cols``, vector h's lanes VW*h ..
    ivec = ir.VectorType(i32, VW)
    count = builder.insert_element(
        ir.Constant(ivec, ir.Undefined), builder.trunc(cols_v, i32), ir.Constant(i32, 0)
    )
    count = builder.shuffle_vector(count, ir.Constant(ivec, ir.Undefined), splat)
    masks = [
        builder.icmp_signed("<", ir.Constant(ivec, list(range(VW * h, VW * h + VW))), count)
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


def _block(mr: int, nv: int, name: str, doc: str):
    """The block product of ``mr`` rows by ``nv`` vectors as a numba intrinsic (the
    signature :data:`_SIG`; numba's intrinsics name each argument)."""

    def typer(
        typingctx, a, lda, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb, res,
        ldr, terms, act,
    ):  # fmt: skip
        return _SIG, _codegen(False, mr, nv)

    typer.__name__, typer.__doc__ = name, doc
    return intrinsic(typer)


def _block_at(mr: int, nv: int, name: str, doc: str):
    """As :func:`_block`, with ``koff`` after ``lda`` (:data:`_SIG_AT`)."""

    def typer(
        typingctx, a, lda, koff, b, c, ldc, hstride, k, rows, cols, accumulate, bias, sw, sb,
        res, ldr, terms, act,
    ):  # fmt: skip
        return _SIG_AT, _codegen(True, mr, nv)

    typer.__name__, typer.__doc__ = name, doc
    return intrinsic(typer)


block_product = _block(
    MR,
    NV,
    "block_product",
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
    """,
)
block_product_narrow = _block(
    NARROW_MR,
    1,
    "block_product_narrow",
    """As :func:`block_product` for ``cols <= 16``: ``NARROW_MR`` rows by one vector, the
    first 16 columns of the panel (see "Narrow blocks").""",
)
block_product_short = _block(
    SHORT_MR,
    NV,
    "block_product_short",
    """As :func:`block_product` for ``rows <= SHORT_MR`` (see "Short blocks").""",
)
block_product_at = _block_at(
    MR,
    NV,
    "block_product_at",
    """As :func:`block_product`, with ``a[i, k]`` read at ``a + i * lda + koff[k]``
    (``koff`` the address of K int64 offsets, in floats): a convolution's receptive
    fields read where they lie in the (padded) input, with no im2col copy.""",
)
block_product_at_narrow = _block_at(
    NARROW_MR,
    1,
    "block_product_at_narrow",
    """:func:`block_product_at` as :func:`block_product_narrow` is :func:`block_product`.""",
)


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
