"""Winograd F(2x2, 3x3)'s input and output transforms, written in LLVM IR, eight channels
a vector.

Computes, for a run of 2x2 output tiles along one row of tiles (``winograd.py`` has the
method and the matrices):

* :func:`input_tiles`: ``V[xi, t] = (B^T d B)[xi]`` of each tile's 4x4 input patch ``d``,
  for all channels, into the 16 matrices ``V[xi]`` (tiles, C) that the products read;
* :func:`output_tiles`: ``Y = A^T m A`` of each tile's 16 products ``m``, through the
  conv's epilogue (bias, scale layer, residual, activation; ``epilogue_ir.emit_epilogue``),
  into the tile's four output pixels (two where the map ends).

Every value is the same sequence of float32 additions and subtractions as the numba
loops these replaced (first down the patch's columns, then along its rows; ``t0 = d0 -
d2`` and so on, left to right), and the epilogue's operations are the product's, so the
results are the same bits.

Why IR: the transforms are a few additions per value, and what they cost is moving the
values. numba's loop over the channels of a tile (16 loads from four rows, 16 stores
into 16 matrices) was not vectorised, as LLVM could not prove the 20 streams apart: on
the recognition net's (8, 17, 17, 64) conv, on one core, the transforms took 0.55 ms of
the conv's 1.33 and the 16 products 0.78. Here each block of eight channels is one
vector per value, each at a constant offset from the tile's position, as in
``depthwise_ir.py``.

The input transform reads the patch where it lies: ``r0``-``r3`` are four input rows, a
pixel ``c`` floats apart (NHWC), and tile ``t`` starts at pixel ``2t``. Tiles whose patch
crosses the left or right edge of the image are copied with their zeros first
(``winograd.conv3x3``) and come here one at a time.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .epilogue_ir import Loader, emit_by_epilogue, emit_epilogue

#: Floats a vector holds: channels transformed at once (C must be a multiple).
VW = 8


class _Vectors:
    """Loads and stores of ``VW``-float vectors at float offsets from a base address."""

    def __init__(self, builder, base):
        f32 = ir.FloatType()
        self.builder, self.vptr = builder, ir.VectorType(f32, VW).as_pointer()
        self.base = builder.inttoptr(base, f32.as_pointer())

    def at(self, offset):
        return self.builder.bitcast(self.builder.gep(self.base, [offset]), self.vptr)

    def load(self, offset):
        return self.builder.load(self.at(offset), align=4)

    def store(self, offset, value):
        self.builder.store(value, self.at(offset), align=4)


def _channel_blocks(builder, tiles, channels, body):
    """``for t in range(tiles): for cb in range(0, channels, VW): body(t, cb)``."""
    l64 = ir.IntType(64)
    with cgutils.for_range(builder, tiles) as tile:
        t = tile.index
        with cgutils.for_range_slice(
            builder, ir.Constant(l64, 0), channels, ir.Constant(l64, VW)
        ) as (cb, _):
            body(t, cb)


@intrinsic
def input_tiles(typingctx, r0, r1, r2, r3, count, c, v, ldv):
    """``B^T d B`` of ``count`` consecutive tiles along four input rows.

    ``r0``-``r3``: addresses of the rows' first patch column (pixels ``c`` floats apart);
    tile ``t`` reads columns ``2t .. 2t + 3``. ``v``: the address of the first tile's row
    in ``V[0]`` (``V[xi]`` are ``ldv`` floats apart, a tile ``c`` floats). ``c`` a multiple
    of ``VW``; float32 data.
    """
    i64, ptr = types.int64, types.uintp
    sig = types.void(ptr, ptr, ptr, ptr, i64, i64, ptr, i64)

    def codegen(context, builder, signature, args):
        *rows_v, count_v, c_v, v_v, ldv_v = args
        rows = [_Vectors(builder, r) for r in rows_v]
        out = _Vectors(builder, v_v)

        def tile(t, cb):
            at = builder.add(builder.mul(t, builder.mul(c_v, ir.Constant(c_v.type, 2))), cb)
            # t = B^T d, one column j of the patch at a time
            cols = []
            for j in range(4):
                col = builder.add(at, builder.mul(c_v, ir.Constant(c_v.type, j)))
                d0, d1, d2, d3 = (r.load(col) for r in rows)
                cols.append((
                    builder.fsub(d0, d2), builder.fadd(d1, d2),
                    builder.fsub(d2, d1), builder.fsub(d1, d3),
                ))  # fmt: skip
            # V = t B, row i of t -> V[4i .. 4i + 3]
            dst = builder.add(builder.mul(t, c_v), cb)
            for i in range(4):
                t0, t1, t2, t3 = (cols[j][i] for j in range(4))
                values = (
                    builder.fsub(t0, t2), builder.fadd(t1, t2),
                    builder.fsub(t2, t1), builder.fsub(t1, t3),
                )  # fmt: skip
                for k, value in enumerate(values):
                    xi = ir.Constant(ldv_v.type, 4 * i + k)
                    out.store(builder.add(dst, builder.mul(xi, ldv_v)), value)

        _channel_blocks(builder, count_v, c_v, tile)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def output_tiles(
    typingctx, m, ldm, count, cout, out, ldo, last_cols2, rows2,
    bias, sw, sb, res, ldr, res2, terms, act,
):  # fmt: skip
    """``A^T m A`` of ``count`` consecutive tiles, through the epilogue, into the output.

    ``m``: the address of the first tile's row in ``M[0]`` (``M[xi]`` ``ldm`` floats
    apart, a tile ``cout``). ``out``: the first tile's top-left output pixel (pixels
    ``cout`` floats apart, the tile's second row ``ldo`` after its first); ``rows2``
    whether that second row is in the map, ``last_cols2`` whether the last tile's second
    column is. Epilogue: ``bias``, ``sw``, ``sb`` the terms' addresses, ``res`` the
    residual's at the first output pixel (``ldr`` floats a pixel, ``res2`` to the second
    row), ``terms`` their bits and ``act`` the activation code, as
    ``block_ir.block_product``'s.
    """
    i64, ptr = types.int64, types.uintp
    sig = types.void(
        ptr, i64, i64, i64, ptr, i64, types.boolean, types.boolean,
        ptr, ptr, ptr, ptr, i64, i64, i64, i64,
    )  # fmt: skip

    def codegen(context, builder, signature, args):
        m_v, ldm_v, count_v, cout_v, out_v, ldo_v, last2_v, rows2_v, *epi = args
        bias_v, sw_v, sb_v, res_v, ldr_v, res2_v, terms_v, act_v = epi
        l64 = ir.IntType(64)
        mats, dst, res = _Vectors(builder, m_v), _Vectors(builder, out_v), _Vectors(builder, res_v)
        terms_at = [_Vectors(builder, p) for p in (bias_v, sw_v, sb_v)]
        last = builder.sub(count_v, ir.Constant(l64, 1))

        def emit(terms, act):
            def tile(t, cb):
                src = builder.add(builder.mul(t, cout_v), cb)
                mm = [mats.load(builder.add(src, builder.mul(ir.Constant(l64, xi), ldm_v)))
                      for xi in range(16)]  # fmt: skip
                # s = A^T m, per column j of m
                s0 = [builder.fadd(builder.fadd(mm[j], mm[4 + j]), mm[8 + j]) for j in range(4)]
                s1 = [builder.fsub(builder.fsub(mm[4 + j], mm[8 + j]), mm[12 + j])
                      for j in range(4)]  # fmt: skip
                load = Loader(builder, tuple(p.at(cb) for p in terms_at), mats.vptr.pointee)
                two = builder.mul(t, ir.Constant(l64, 2))

                def put(s, right, row2):
                    """Y = s A: column 0 (or 1, ``right``) of the tile's row ``s``."""
                    if right:
                        y = builder.fsub(builder.fsub(s[1], s[2]), s[3])
                    else:
                        y = builder.fadd(builder.fadd(s[0], s[1]), s[2])
                    px = builder.add(two, ir.Constant(l64, int(right)))
                    at = builder.add(builder.mul(px, cout_v), cb)
                    r_at = builder.add(builder.mul(px, ldr_v), cb)
                    if row2:
                        at, r_at = builder.add(at, ldo_v), builder.add(r_at, res2_v)
                    y = emit_epilogue(builder, y, load, res.at(r_at), terms, act)
                    dst.store(at, y)

                cols2 = builder.or_(builder.icmp_signed("<", t, last), last2_v)
                put(s0, False, False)
                with builder.if_then(cols2):
                    put(s0, True, False)
                with builder.if_then(rows2_v):
                    put(s1, False, True)
                    with builder.if_then(cols2):
                        put(s1, True, True)

            _channel_blocks(builder, count_v, cout_v, tile)

        emit_by_epilogue(builder, terms_v, act_v, emit, "wino_out")
        return context.get_dummy_value()

    return sig, codegen
