"""The numba convs' epilogue in LLVM IR: ``act((v + bias) * scale_w + scale_b + residual)``.

Emitted into the block products (``block_ir.py``) and the Winograd output transform
(``winograd_ir.py``) as their sums are stored, so that a conv's output is written once.
NumPy reference: the epilogue passes in the NumPy backend's conv2d (``epilogue.py`` holds
numba's scalar version, in the same order).

The epilogue: straight-line code for the (terms, activation) pairs the nets use
(``COMMON_EPILOGUES``), picked by one branch a block; a short panel (the last one of a
filter whose channels are not a multiple of 16) and the other pairs take one path of
masked vectors (``llvm.masked.load``/``store``: the lanes past the panel's columns are
neither read nor written), each term behind a branch. Its operations are the NumPy
backend's in the same order, as separate multiplies and adds (LLVM fuses nothing it is
not told to), so fused or not, masked or not, the outputs are the same bits. The dense
blocks' running sums (bias and residual, with or without a ReLU: 12 of
FaceLandmark68Net's 15 separable convs) took the branching path until they had pairs
of their own: in one process alternating with the code before (medians of 30-40),
FaceLandmark68Net at batch 8 4.78 -> 4.70 ms (its first block's convs 0.92-0.94x) and
at batch 1 0.639 -> 0.631, FaceLandmark68TinyNet at batch 8 2.74 -> 2.70.

The short panel was first stored value by value, each value through its own copy of
the branching epilogue: most of a block's IR and compile time (a kernel with one block
product 3.7-3.8 s, 1.2-1.3 s with the masked path; every kernel into an empty cache
130 -> 90 s).
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils

from .epilogue import LEAKY_ALPHA

#: The epilogue's terms, as bits of ``terms``.
BIAS, SCALE, RESIDUAL = 1, 2, 4


def maybe(builder, cond, value, make):
    """``make(value)`` where ``cond`` holds at run time, else ``value`` (a branch + phi)."""
    before = builder.block
    with builder.if_then(cond):
        changed = make(value)
        then = builder.block
    phi = builder.phi(value.type)
    phi.add_incoming(changed, then)
    phi.add_incoming(value, before)
    return phi


def emit_epilogue(builder, v, load, row_res, terms, act):
    """``act((v + bias) * scale_w + scale_b + residual)`` on a vector or a value.

    ``terms`` and ``act`` are Python ints (the code is made for that one combination, no
    branches) or IR values (each term behind a branch on its bit). ``load(ptr)`` reads
    the matching width at a float pointer, ``load.pointers`` the bias, scale_w and
    scale_b at this store's columns, ``row_res`` this row's residual. As
    ``epilogue.activate`` and the NumPy backend: separate multiplies and adds,
    ``max``/``min`` as numba lowers them (so the results are the same bits).
    """
    l64 = ir.IntType(64)

    def when(bit_or_code, is_act, value, make):
        if isinstance(terms, int):
            on = (act == bit_or_code) if is_act else bool(terms & bit_or_code)
            return make(value) if on else value
        test = (
            builder.icmp_signed("==", act, ir.Constant(l64, bit_or_code))
            if is_act
            else builder.icmp_signed(
                "!=", builder.and_(terms, ir.Constant(l64, bit_or_code)), ir.Constant(l64, 0)
            )
        )
        return maybe(builder, test, value, make)

    bias_p, sw_p, sb_p = load.pointers
    v = when(BIAS, False, v, lambda u: builder.fadd(u, load(bias_p)))
    v = when(SCALE, False, v, lambda u: builder.fadd(builder.fmul(u, load(sw_p)), load(sb_p)))
    v = when(RESIDUAL, False, v, lambda u: builder.fadd(u, load(row_res)))
    zero, six = load.constant(0.0), load.constant(6.0)

    def relu(u):  # max(u, 0): 0 where 0 > u, else u (u itself for -0.0 and NaN)
        return builder.select(builder.fcmp_ordered(">", zero, u), zero, u)

    def relu6(u):  # min(max(u, 0), 6)
        r = relu(u)
        return builder.select(builder.fcmp_ordered("<", six, r), six, r)

    def leaky(u):  # face-api.js's relu(u - a*u) + a*u
        a = builder.fmul(u, load.constant(float(LEAKY_ALPHA)))
        return builder.fadd(relu(builder.fsub(u, a)), a)

    for code, fn in ((1, relu), (2, relu6), (3, leaky)):
        v = when(code, True, v, fn)
    return v


#: (terms, act) pairs the block store has straight-line code for (the nets' convs: bias
#: and an activation; the recognition net's scale layer and shortcut; the dense blocks'
#: running sums of the landmark, expression and age-gender nets); others branch.
COMMON_EPILOGUES = ((BIAS, 0), (BIAS, 1), (BIAS, 2), (BIAS, 3), (0, 1), (BIAS | SCALE, 0),
                    (BIAS | SCALE, 1), (BIAS | SCALE | RESIDUAL, 1), (BIAS | RESIDUAL, 0),
                    (BIAS | RESIDUAL, 1))  # fmt: skip


def emit_by_epilogue(builder, terms_v, act_v, emit, name, common=None):
    """``emit(terms, act)`` once for each pair of :data:`COMMON_EPILOGUES` (and none), with
    Python ints, and once with the IR values ``terms_v``, ``act_v`` (branching per term)
    for the others; one switch on the run-time pair picks the code. With ``common`` (an
    IR condition), the pairs' own code is taken only where it holds, the generic code
    everywhere else."""
    l64 = ir.IntType(64)
    mode = builder.add(builder.mul(terms_v, ir.Constant(l64, 4)), act_v)
    after = builder.append_basic_block(f"{name}.done")
    generic = builder.append_basic_block(f"{name}.generic")
    if common is not None:
        by_pair = builder.append_basic_block(f"{name}.pair")
        builder.cbranch(common, by_pair, generic)
        builder.position_at_end(by_pair)
    switch = builder.switch(mode, generic)
    for terms, act in ((0, 0),) + COMMON_EPILOGUES:
        case = builder.append_basic_block(f"{name}.{terms}.{act}")
        switch.add_case(ir.Constant(l64, terms * 4 + act), case)
        builder.position_at_end(case)
        emit(terms, act)
        builder.branch(after)
    builder.position_at_end(generic)
    emit(terms_v, act_v)
    builder.branch(after)
    builder.position_at_end(after)


class Loader:
    """Loads and stores of one width (a 16-float vector or a float) for
    :func:`emit_epilogue`: the term pointers at this store's columns, and constants of
    that width. With ``mask`` (a vector's lanes to touch), masked vector loads and stores
    (``llvm.masked.load``/``store``): lanes off the mask are neither read nor written."""

    def __init__(self, builder, pointers, ty, mask=None):
        self.builder, self.pointers, self.ty, self.mask = builder, pointers, ty, mask
        self._kept = {}  # pointer -> the value read there once (see keep)

    def keep(self, terms):
        """Read the bias and scale vectors that ``terms`` (an int) uses now, and give those
        values for every later load of them: they are the same for each row of a block,
        and LLVM, not knowing that the stores between do not overwrite them, would read
        them again for each row. Measured on one core, (3528, 32) @ (32, 32) + bias, 8
        tiles: 0.249-0.267 -> 0.243-0.257 ms (the product alone 0.235-0.258)."""
        bias_p, sw_p, sb_p = self.pointers
        for ptr, on in ((bias_p, terms & BIAS), (sw_p, terms & SCALE), (sb_p, terms & SCALE)):
            if on:
                self._kept[ptr] = self(ptr)

    def _masked(self, what, args):
        module, vptr = self.builder.module, ir.PointerType(self.ty)
        name = f"llvm.masked.{what}.v{self.ty.count}f32.p0v{self.ty.count}f32"
        types_ = [vptr, ir.IntType(32), self.mask.type]
        if what == "load":
            fn_type = ir.FunctionType(self.ty, types_ + [self.ty])
        else:
            fn_type = ir.FunctionType(ir.VoidType(), [self.ty] + types_)
        fn = cgutils.get_or_insert_function(module, fn_type, name)
        return self.builder.call(fn, args)

    def __call__(self, ptr):
        if ptr in self._kept:
            return self._kept[ptr]
        if self.mask is None:
            return self.builder.load(ptr, align=4)
        align = ir.Constant(ir.IntType(32), 4)
        return self._masked("load", [ptr, align, self.mask, self.constant(0.0)])

    def store(self, value, ptr):
        if self.mask is None:
            self.builder.store(value, ptr, align=4)
            return
        self._masked("store", [value, ptr, ir.Constant(ir.IntType(32), 4), self.mask])

    def constant(self, x):
        if isinstance(self.ty, ir.VectorType):
            return ir.Constant(self.ty, [x] * self.ty.count)
        return ir.Constant(self.ty, x)
