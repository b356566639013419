"""A 3x3 depthwise conv's output row, written in LLVM IR: its sums, from input rows
repacked in padded channel blocks.

Computes ``o[ox, c] = sum_{ky, kx} row_ky[ox*stride + kx, c] * w[ky, kx, c]`` for the
output pixels ``lo <= ox < hi`` of one row, where ``row_ky`` are the three input rows as
:func:`block_row` lays them out: (C/VW, Wp, VW), channel block by channel block, with
the conv's zero padding written in as columns, so that every pixel, edges too, is the
same nine loads. A conv's input ReLU is applied by the repacking
(:data:`block_row_relu`), once a value, not by each of the three output rows that read
it. Each sum is one multiply then eight fused multiply-adds, the order in which LLVM
contracts the numba loop of ``depthwise.loop_row`` (the same bits
for every pixel whose taps are all inside; at an edge the padded taps add zeros, where
the numba loop skips them, which can move the last bit). The batch norm and activation
are applied by ``depthwise.finish_row``, a pass over the row while it is in L1, but
MobileNet's batch norm and ReLU6, which these stores apply (see below).

Design: a block of ``VW`` channels keeps its nine weight vectors in registers for the
whole row, and ``PX`` = 4 pixels are summed at once, four independent chains of
multiply-adds in flight. In the blocked layout each tap of a pixel is at a constant
offset from one running position, so a loop of four pixels needs one address register
for the input and one for the output (``stride`` is a compile-time constant: one
function per stride). numba does not vectorise this shape of loop, so it is emitted
through ``llvmlite`` inside numba ``@intrinsic``s, as ``block_ir.py`` does.

Variants (one core, 8 x 56x56x32 with the input ReLU, cycles an output value): the
numba loop 2.2-3.1; this interior reading the rows where they lie, each tap at a
run-time offset: 2.7-3.0 (LLVM made one pointer per tap and pixel and kept them on the
stack); from the blocked rows 0.66-0.72 alone, plus 0.37 for the repacking; the whole
row 1.1-1.45, once the numba loop over the row's pixels (still run, to skip them) was
taken out of the way. Blocks of 16 channels (one AVX-512 register) instead of 8, the
same sums: SSD's (1, 16, 16, 1024) 116-119 -> 81-93 us, (1, 32, 32, 512) 164-197 ->
132-158 us (2 cores, medians of 400, two rounds in separate processes); the larger maps
are bound by memory and moved within the noise.

MobileNet's batch norm and ReLU6 (SSD's 13 depthwise convs) are applied by the stores
(the ``_bn_relu6`` variants: the block's mean, inv and offset vectors in registers with
its weights, ``fma(sum - mean, inv, offset)``, then ``min(max(v, 0), 6)`` as numba
lowers it), the bits of ``depthwise.finish_row``'s pass, which numba compiles with
``contract``. That pass cost ~0.4 cycles a value by itself (a load, a store and four
operations a vector over a row in L1), against 0.57-0.68 for the sums (one core, the
interior alone in a loop). With it in the stores the kernel with MobileNet's terms
takes the plain sums' time (one core, min of 200, us): (1, 32, 256, 32) 130-134 -> 97,
(1, 64, 256, 64) stride 2 230 -> 195, (1, 16, 128, 128) 130 -> 93, (1, 32, 128, 128)
stride 2 120 -> 103, (1, 8, 32, 512) 86 -> 72.

The input ReLU was first applied by the sums, a select on each distinct load; in the
repacking instead, a dense block's (8, 56, 56, 32) on one core 0.256 -> 0.248 ms and
(8, 28, 28, 64) 0.133 -> 0.131 ms (within the noise, but one interior a stride instead
of two, and the same bits).

Also tried: ``PX`` = 8 pixels at once, in the same process as 4 (cycles a value,
interior alone): 0.682 / 0.682 at 32 channels, 1.084 / 1.066 at stride 2, 0.568 / 0.572
and 0.752 / 0.790 at 128 and 512; ``PX`` = 2 lost at 32 channels (0.767). The loads of
a stride-1 row are what bound it (18 distinct vectors for 36 multiply-adds every four
pixels, from L2 for SSD's wide rows). :func:`block_row` block by block (the pixel loop
inner) lost against pixel by pixel: (1, 32, 256, 32) 88-98 -> 106 us, (1, 64, 256, 64)
stride 2 194-203 -> 229 us, each source cache line then read once per block. Weights
packed (C/VW, 9, VW), each block's nine vectors in a run: the same (1.103 / 1.114 cycles
a value at (32, 512)). An output row whose pixel stride is a power of two of 2 KiB or
more (512 channels and up) puts a block's pixels in one or two sets of L1: the interior
alone on a (32, 512) row took 1.14 cycles a value into a buffer of stride 512 and 0.70
into one of stride 528 ((16, 1024) 1.33 / 0.87); but the separable kernel with its
depthwise rows at the padded stride measured the same on SSD's layers (in one process,
alternating, min of 15: (1, 32, 32, 512) 2.63 / 2.68 ms, (1, 64, 64, 256) 2.80 / 2.78,
(1, 16, 16, 1024) 3.02 / 3.04), so the rows keep their plain stride.

Every vector load and store here says ``align=4``: a vector access without it is taken
as aligned to the vector's size, and LLVM then writes it with an aligned move that
faults where a row of the ring does not start on such a boundary.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: Floats a vector holds.
VW = 16
#: Output pixels summed at once (independent multiply-add chains).
PX = 4


def _emit(builder, args, stride: int, bn_relu6: bool):
    p0_v, p1_v, p2_v, wd_v, w_v, o_v, ldo_v, c_v, lo_v, hi_v, mean_v, inv_v, off_v = args
    f32, l64 = ir.FloatType(), ir.IntType(64)
    vec = ir.VectorType(f32, VW)
    fptr, vptr = f32.as_pointer(), vec.as_pointer()
    fma = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fma.v{VW}f32"
    )
    zero = ir.Constant(vec, [0.0] * VW)

    def const(v):
        return ir.Constant(l64, v)

    rows = [builder.inttoptr(v, fptr) for v in (p0_v, p1_v, p2_v)]
    w_p, o_p = builder.inttoptr(w_v, fptr), builder.inttoptr(o_v, fptr)

    def load(p, offset):
        return builder.load(builder.bitcast(builder.gep(p, [offset]), vptr), align=4)

    def pixel(pos, p, weights):
        """The sum of the ``p``-th pixel from ``pos``: its taps lie at constant offsets."""
        acc = None
        # taps in the order LLVM contracts numba's ``x0*w0 + x1*w1 + ... + x8*w8``:
        # fma(x0, w0, x1*w1), then each next tap's fma onto the sum
        for k in (1, 0, 2, 3, 4, 5, 6, 7, 8):
            ky, kx = divmod(k, 3)
            x = load(rows[ky], builder.add(pos, const((p * stride + kx) * VW)))
            w = weights[k]
            acc = builder.fmul(x, w) if acc is None else builder.call(fma, [x, w, acc])
        return acc

    six = ir.Constant(vec, [6.0] * VW)

    def store(at, value):
        if bn_relu6:  # (sum - mean) * inv + offset, contracted, then min(max(v, 0), 6)
            value = builder.call(fma, [builder.fsub(value, norm[0]), norm[1], norm[2]])
            value = builder.select(builder.fcmp_ordered(">", zero, value), zero, value)
            value = builder.select(builder.fcmp_ordered("<", six, value), six, value)
        builder.store(value, builder.bitcast(builder.gep(o_p, [at]), vptr), align=4)

    outs = [builder.mul(const(p), ldo_v) for p in range(PX)]
    first_in = builder.mul(builder.mul(lo_v, const(stride)), const(VW))
    first_out = builder.mul(lo_v, ldo_v)
    block_in = builder.mul(wd_v, const(VW))  # floats of one channel block of a row

    # for cb in range(0, c, VW): the block's nine weight vectors, then the row's pixels
    entry = builder.block
    blocks = builder.append_basic_block("dw.block")
    done = builder.append_basic_block("dw.done")
    ok = builder.and_(builder.icmp_signed(">", c_v, const(0)), builder.icmp_signed("<", lo_v, hi_v))
    builder.cbranch(ok, blocks, done)
    builder.position_at_end(blocks)
    cb = builder.phi(l64)
    cb.add_incoming(const(0), entry)
    weights = [load(w_p, builder.add(builder.mul(const(k), c_v), cb)) for k in range(9)]
    if bn_relu6:  # the block's batch norm vectors, in registers for the row
        norm = [load(builder.inttoptr(v, fptr), cb) for v in (mean_v, inv_v, off_v)]
    in0 = builder.add(first_in, builder.mul(builder.udiv(cb, const(VW)), block_in))
    out0 = builder.add(first_out, cb)
    block_entry = builder.block

    # PX pixels at a time while they last
    quads = builder.append_basic_block("dw.quads")
    after_quads = builder.append_basic_block("dw.after_quads")
    enough = builder.icmp_signed("<=", builder.add(lo_v, const(PX)), hi_v)
    builder.cbranch(enough, quads, after_quads)
    builder.position_at_end(quads)
    ox, pos, opos = builder.phi(l64), builder.phi(l64), builder.phi(l64)
    for phi, v in ((ox, lo_v), (pos, in0), (opos, out0)):
        phi.add_incoming(v, block_entry)
    sums = [pixel(pos, p, weights) for p in range(PX)]
    for p, value in enumerate(sums):
        store(builder.add(opos, outs[p]), value)
    ox_next = builder.add(ox, const(PX))
    pos_next = builder.add(pos, const(PX * stride * VW))
    opos_next = builder.add(opos, outs[PX - 1])
    opos_next = builder.add(opos_next, ldo_v)
    for phi, v in ((ox, ox_next), (pos, pos_next), (opos, opos_next)):
        phi.add_incoming(v, quads)
    more = builder.icmp_signed("<=", builder.add(ox_next, const(PX)), hi_v)
    builder.cbranch(more, quads, after_quads)

    # the rest (fewer than PX pixels) at once, so that their chains overlap too: each
    # pixel alone is nine dependent multiply-adds
    builder.position_at_end(after_quads)
    starts = [builder.phi(l64) for _ in range(3)]
    for phi, a, b in zip(starts, (lo_v, in0, out0), (ox_next, pos_next, opos_next)):
        phi.add_incoming(a, block_entry)
        phi.add_incoming(b, quads)
    block_end = builder.append_basic_block("dw.block_end")
    rest = builder.switch(builder.sub(hi_v, starts[0]), block_end)
    for count in range(1, PX):
        case = builder.append_basic_block(f"dw.rest{count}")
        rest.add_case(const(count), case)
        builder.position_at_end(case)
        sums = [pixel(starts[1], p, weights) for p in range(count)]
        for p, value in enumerate(sums):
            store(builder.add(starts[2], outs[p]), value)
        builder.branch(block_end)

    builder.position_at_end(block_end)
    cb_next = builder.add(cb, const(VW))
    cb.add_incoming(cb_next, block_end)
    builder.cbranch(builder.icmp_signed("<", cb_next, c_v), blocks, done)
    builder.position_at_end(done)


def _interior(stride: int, bn_relu6: bool = False):
    i64, ptr = types.int64, types.uintp

    def typer(typingctx, p0, p1, p2, wd, w, o, ldo, c, lo, hi, mean, inv, offset):
        sig = types.void(ptr, ptr, ptr, i64, ptr, ptr, i64, i64, i64, i64, ptr, ptr, ptr)

        def codegen(context, builder, signature, args):
            _emit(builder, args, stride, bn_relu6)
            return context.get_dummy_value()

        return sig, codegen

    typer.__name__ = f"depthwise3x3_interior_s{stride}" + ("_bn_relu6" if bn_relu6 else "")
    typer.__doc__ = """Sums of output pixels ``lo .. hi`` of one row (see the module):
    ``p0``-``p2`` the addresses of the three input rows in padded channel blocks
    (:func:`block_row`; output pixel ``ox`` reads columns ``ox * stride + kx``), ``wd``
    their padded width, ``w`` the filter's address, ``o`` the output row's (pixel
    stride ``ldo`` floats), ``c`` channels; ``mean``, ``inv``, ``offset`` the addresses of
    the batch norm's vectors, read by the variants that apply it."""
    return intrinsic(typer)


#: The interior sums by stride (1, 2).
interior_s1 = _interior(1)
interior_s2 = _interior(2)
#: The sums through a batch norm and ReLU6 as they are stored (MobileNet's depthwise
#: convs), by stride.
interior_s1_bn_relu6 = _interior(1, True)
interior_s2_bn_relu6 = _interior(2, True)


def _emit_block_row(builder, args, relu: bool):
    src_v, dst_v, wd_v, c_v, wp_v, pad_v = args
    f32, l64 = ir.FloatType(), ir.IntType(64)
    vec = ir.VectorType(f32, VW)
    vptr = vec.as_pointer()
    src_p, dst_p = (builder.inttoptr(v, f32.as_pointer()) for v in (src_v, dst_v))

    def const(v):
        return ir.Constant(l64, v)

    def loop(name, start, stop, step, body):
        """``for i in range(start, stop, step): body(i)`` (start < stop)."""
        before = builder.block
        block = builder.append_basic_block(name)
        after = builder.append_basic_block(name + ".after")
        builder.cbranch(builder.icmp_signed("<", start, stop), block, after)
        builder.position_at_end(block)
        i = builder.phi(l64)
        i.add_incoming(start, before)
        body(i)
        i_next = builder.add(i, step)
        i.add_incoming(i_next, builder.block)
        builder.cbranch(builder.icmp_signed("<", i_next, stop), block, after)
        builder.position_at_end(after)

    block_floats = builder.mul(wp_v, const(VW))  # one channel block of the row

    def column(col, value_at):  # column ``col`` of every block: value_at(channel)
        def each(k):  # k: the block's first channel
            at = builder.add(builder.mul(builder.udiv(k, const(VW)), block_floats), col)
            builder.store(value_at(k), builder.bitcast(builder.gep(dst_p, [at]), vptr), align=4)

        loop("block_row.blocks", const(0), c_v, const(VW), each)

    zero = ir.Constant(vec, [0.0] * VW)
    end = builder.add(pad_v, wd_v)

    def copied(px):
        def value_at(k):
            at = builder.add(builder.mul(px, c_v), k)
            x = builder.load(builder.bitcast(builder.gep(src_p, [at]), vptr), align=4)
            if relu:  # max(x, 0) as numba lowers it: 0 where 0 > x, else x
                x = builder.select(builder.fcmp_ordered(">", zero, x), zero, x)
            return x

        column(builder.mul(builder.add(px, pad_v), const(VW)), value_at)

    loop("block_row.left", const(0), pad_v, const(1),
         lambda col: column(builder.mul(col, const(VW)), lambda k: zero))  # fmt: skip
    loop("block_row.pixels", const(0), wd_v, const(1), copied)
    loop("block_row.right", end, wp_v, const(1),
         lambda col: column(builder.mul(col, const(VW)), lambda k: zero))  # fmt: skip


def _block_row(relu: bool):
    i64, ptr = types.int64, types.uintp

    def typer(typingctx, src, dst, wd, c, wp, pad):
        sig = types.void(ptr, ptr, i64, i64, i64, i64)

        def codegen(context, builder, signature, args):
            _emit_block_row(builder, args, relu)
            return context.get_dummy_value()

        return sig, codegen

    typer.__name__ = "block_row_relu" if relu else "block_row"
    typer.__doc__ = """Copy the row at ``src`` (W, C) into ``dst`` as padded channel blocks
    (C/VW, Wp, VW): input column ``x`` at column ``pad + x``, zeros in the columns before
    and after, the layout the interior sums read (each tap of a block at a constant
    offset, and no pixel at an edge). ``c`` a multiple of ``VW``; addresses of float32
    data."""
    if relu:
        typer.__doc__ += " Each value goes through a ReLU as it is copied."
    return intrinsic(typer)


#: A row repacked for the interior sums, as it is / through a ReLU (a conv's input
#: ReLU, applied once a value here rather than by every sum that reads it).
block_row = _block_row(False)
block_row_relu = _block_row(True)
