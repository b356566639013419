"""Sixteen rows' 16-float pieces written as the columns of 16 rows, in LLVM IR.

Computes ``dst[j * ldd + p] = src_p[j]`` for ``p, j < 16``, where ``src_p`` is row ``p``'s
piece (zeros for a row that ``valid`` leaves out): a 16x16 transpose, in registers. The
few-pixels conv (``conv_few_pixels.conv2d_few_pixels``) gathers its <= 16 pixels' receptive fields
as the columns of a (K, NR) panel this way, 16 channels of one tap at a time. NumPy
reference: ``dst[:16, :16] = np.stack(pieces).T``.

Why: written value by value (a pixel's C channels down a column, one float every NR
floats) the gather took ~10 us on one core for the recognition net's (1, 4, 4, 256) 3x3
convs, about a sixth of the conv, and each thread gathers the whole panel. Here each
16x16 piece is 16 vector loads, 64 two-vector shuffles (four rounds of swapping the
off-diagonal blocks of 8, 4, 2 and 1 lanes) and 16 vector stores. numba does not
vectorise a transpose, so it is emitted through ``llvmlite`` in a numba ``@intrinsic``,
as ``block_ir.py`` is.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: Floats a piece (and a vector) holds; rows a transpose takes.
VW = 16


def _swap_rounds(builder, rows):
    """``rows`` (16 vectors) transposed: for blocks of 8, 4, 2, 1 lanes, rows ``i`` and
    ``i + d`` (``i & d == 0``) trade their off-diagonal blocks."""
    lanes = ir.VectorType(ir.IntType(32), VW)
    rows = list(rows)
    for d in (8, 4, 2, 1):
        # lanes 0-15 are the first row's, 16-31 the second's
        low = ir.Constant(lanes, [j if j & d == 0 else VW + j - d for j in range(VW)])
        high = ir.Constant(lanes, [j + d if j & d == 0 else VW + j for j in range(VW)])
        for i in (i for i in range(VW) if i & d == 0):
            a, b = rows[i], rows[i + d]
            rows[i], rows[i + d] = (
                builder.shuffle_vector(a, b, low),
                builder.shuffle_vector(a, b, high),
            )
    return rows


@intrinsic
def columns16(typingctx, srcs, valid, offset, dst, ldd):
    """``dst[j * ldd + p] = piece_p[j]`` for ``p, j < 16`` (see the module): ``srcs`` the
    address of 16 int64 addresses (float32 data), piece ``p`` the 16 floats at
    ``srcs[p] + 4 * offset``, or zeros where bit ``p`` of ``valid`` is clear (that
    address is still read, so it must be valid memory); ``dst`` an address, its rows
    ``ldd`` floats apart."""
    sig = types.void(types.uintp, types.int64, types.int64, types.uintp, types.int64)

    def codegen(context, builder, signature, args):
        srcs_v, valid_v, off_v, dst_v, ldd_v = args
        f32, l64 = ir.FloatType(), ir.IntType(64)
        vec = ir.VectorType(f32, VW)
        vptr = vec.as_pointer()
        addrs = builder.inttoptr(srcs_v, l64.as_pointer())
        zero = ir.Constant(vec, [0.0] * VW)
        rows = []
        for p in range(VW):
            base = builder.inttoptr(
                builder.load(builder.gep(addrs, [ir.Constant(l64, p)])), f32.as_pointer()
            )
            x = builder.load(builder.bitcast(builder.gep(base, [off_v]), vptr), align=4)
            bit = builder.and_(builder.lshr(valid_v, ir.Constant(l64, p)), ir.Constant(l64, 1))
            rows.append(
                builder.select(builder.icmp_unsigned("!=", bit, ir.Constant(l64, 0)), x, zero)
            )
        d_p = builder.inttoptr(dst_v, f32.as_pointer())
        for j, row in enumerate(_swap_rounds(builder, rows)):
            at = builder.gep(d_p, [builder.mul(ir.Constant(l64, j), ldd_v)])
            builder.store(row, builder.bitcast(at, vptr), align=4)
        return context.get_dummy_value()

    return sig, codegen
