"""Symbolic tensors: arrays that record the ops applied to them as ONNX nodes.

A :class:`Sym` stands for an activation of a net while :mod:`.graph_backend` traces the
net's own ``forward``: it has a name, a shape and a dtype, and every operator the layers
use on an activation (``+ - * / @``, unary minus, slicing, ``reshape``, ``mean``, ``max``,
``sum``, ``astype``) appends a node to its :class:`Graph` instead of computing. NumPy
arrays met along the way (the net's params, constants such as a mean RGB) become
initializers.

Layout. The layers speak NHWC; ONNX convolutions and pools want NCHW. A ``Sym`` keeps its
*logical* shape (what the layers see, NHWC) apart from its *physical* layout, a
permutation ``perm`` (physical axis ``i`` holds logical axis ``perm[i]``). Convolutions
leave their output in NCHW and element-wise ops, reductions, slices and concatenations
follow whatever layout their inputs have, so a chain of convs needs no transposes; ops
that depend on memory order (``reshape``, ``@``) first transpose back to NHWC, which is
where TF's ``reshape`` reads its elements from.

Batch. With a dynamic batch the trace runs on a batch size of :data:`TRACE_BATCH` held in
a :class:`BatchDim`, an ``int`` that remembers it is the batch. Shapes built from it
(``reshape(n, -1)``, ``tile(a, (n, 1))``) become ``Shape``-derived tensors in the graph;
a reshape that would bake the traced batch size into the graph is refused.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph, is_batch


def identity(ndim: int) -> tuple:
    """The layout of a tensor stored in its logical order."""
    return tuple(range(ndim))


#: Physical NCHW layout of a logical NHWC tensor.
NCHW = (0, 3, 1, 2)

#: NumPy dtype -> ONNX ``TensorProto`` element type (the enum's numbers).
ONNX_TYPES = {
    np.dtype(np.float32): 1,
    np.dtype(np.uint8): 2,
    np.dtype(np.int32): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.bool_): 9,
    np.dtype(np.float64): 11,
}


def _norm_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return identity(ndim)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _renumber(perm, removed) -> tuple:
    """The layout left after dropping the logical axes ``removed`` from ``perm``."""
    kept = [p for p in perm if p not in removed]
    order = sorted(kept)
    return tuple(order.index(p) for p in kept)


class Sym:
    """A symbolic activation: name, logical shape, dtype and physical layout ``perm``."""

    # NumPy operators with a Sym on the right return NotImplemented, so Python calls ours
    __array_ufunc__ = None

    def __init__(self, graph: Graph, name: str, shape, dtype=np.float32, perm=None):
        self.graph, self.name = graph, name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.perm = identity(len(self.shape)) if perm is None else tuple(perm)

    def __repr__(self) -> str:
        return f"Sym({self.name}, {self.shape}, {self.dtype}, perm={self.perm})"

    def __len__(self) -> int:
        return int(self.shape[0])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def physical_shape(self) -> tuple:
        return tuple(self.shape[p] for p in self.perm)

    def derive(self, name: str, shape=None, perm=None, dtype=None) -> Sym:
        """A new Sym in the same graph (shape, layout and dtype default to this one's)."""
        return Sym(
            self.graph,
            name,
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.perm if perm is None else perm,
        )

    # --- layout ---------------------------------------------------------------------

    def to_perm(self, perm) -> Sym:
        """This tensor stored in layout ``perm`` (a Transpose unless it already is)."""
        perm = tuple(perm)
        if perm == self.perm:
            return self
        order = [self.perm.index(p) for p in perm]
        return self.derive(self.graph.node("Transpose", [self.name], perm=order), perm=perm)

    def logical(self) -> Sym:
        """This tensor stored in its logical (NHWC) order."""
        return self.to_perm(identity(self.ndim))

    def unary(self, op: str, **attrs) -> Sym:
        """An element-wise op with one input; shape and layout kept."""
        return self.derive(self.graph.node(op, [self.name], **attrs))

    # --- arithmetic -------------------------------------------------------------------

    def __add__(self, other):
        return binary("Add", self, other)

    def __radd__(self, other):
        return binary("Add", other, self)

    def __sub__(self, other):
        return binary("Sub", self, other)

    def __rsub__(self, other):
        return binary("Sub", other, self)

    def __mul__(self, other):
        return binary("Mul", self, other)

    def __rmul__(self, other):
        return binary("Mul", other, self)

    def __truediv__(self, other):
        return binary("Div", self, other)

    def __rtruediv__(self, other):
        return binary("Div", other, self)

    def __neg__(self):
        return self.unary("Neg")

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # --- shape ------------------------------------------------------------------------

    def astype(self, dtype, copy: bool = True) -> Sym:
        """Same values as ``dtype`` (a Cast unless the dtype already is)."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return self.derive(self.graph.node("Cast", [self.name], to=ONNX_TYPES[dtype]), dtype=dtype)

    def reshape(self, *shape) -> Sym:
        """NumPy ``reshape`` in C order of the logical shape (one ``-1`` allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        g = self.graph
        known = int(np.prod([d for d in shape if d != -1]))
        dims = [self.size // known if d == -1 else d for d in shape]
        if int(np.prod(dims)) != self.size:
            raise ValueError(f"cannot reshape {self.shape} to {shape}")
        batch = next((d for d in self.shape if is_batch(d)), None)
        if g.dynamic and batch is not None and not any(map(is_batch, shape)):
            if -1 not in shape:
                raise ValueError(
                    f"reshape {self.shape} -> {shape} would fix the batch size in the graph; "
                    "pass the batch dimension (x.shape[0]) or -1"
                )
            if known == self.size // batch:  # the -1 is exactly the batch: N stays N
                dims = [batch if d == -1 else d for d in shape]
        x = self.logical()
        out = g.node("Reshape", [x.name, g.shape_tensor(shape)])
        return Sym(g, out, tuple(dims), self.dtype)

    def transpose(self, *axes) -> Sym:
        """NumPy ``transpose``: only the layout changes until something needs the order."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = tuple(axes) or tuple(reversed(identity(self.ndim)))
        x = self.logical()
        out = self.graph.node("Transpose", [x.name], perm=list(axes))
        return Sym(self.graph, out, tuple(self.shape[a] for a in axes), self.dtype)

    def __getitem__(self, index) -> Sym:
        return getitem(self, index)

    # --- reductions -------------------------------------------------------------------

    def _reduce(self, op: str, axis, keepdims: bool) -> Sym:
        axes = _norm_axes(axis, self.ndim)
        phys = sorted(self.perm.index(a) for a in axes)
        g = self.graph
        if op == "ReduceSum":  # opset 13+: axes are an input; the others take an attribute
            out = g.node(op, [self.name, g.const(np.array(phys, np.int64))], keepdims=int(keepdims))
        else:
            out = g.node(op, [self.name], axes=phys, keepdims=int(keepdims))
        if keepdims:
            shape = tuple(1 if i in axes else d for i, d in enumerate(self.shape))
            return self.derive(out, shape=shape)
        shape = tuple(d for i, d in enumerate(self.shape) if i not in axes)
        return self.derive(out, shape=shape, perm=_renumber(self.perm, axes))

    def sum(self, axis=None, keepdims: bool = False) -> Sym:
        return self._reduce("ReduceSum", axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> Sym:
        return self._reduce("ReduceMean", axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> Sym:
        return self._reduce("ReduceMax", axis, keepdims)

    def min(self, axis=None, keepdims: bool = False) -> Sym:
        return self._reduce("ReduceMin", axis, keepdims)


# --- ops with more than one operand ------------------------------------------------------


def _lift(graph: Graph, value, dtype, ndim: int, perm) -> str:
    """A constant operand as an initializer, laid out like a rank-``ndim`` tensor in ``perm``."""
    a = np.asarray(value, dtype=dtype)
    if perm != identity(ndim):  # ONNX broadcasts physical axes: give the constant the same order
        a = a.reshape((1,) * (ndim - a.ndim) + a.shape).transpose(perm)
    return graph.const(a)


def _broadcast(shapes) -> tuple:
    """NumPy broadcasting of ``shapes``, keeping a :class:`BatchDim` where one takes part."""
    out = np.broadcast_shapes(*(tuple(map(int, s)) for s in shapes))
    ndim = len(out)
    dims = list(out)
    for s in shapes:
        for i, d in enumerate(s, start=ndim - len(s)):
            if is_batch(d):
                dims[i] = d
    return tuple(dims)


def operands(values, ndim: int, perm) -> list[str]:
    """Tensor names of ``values`` (Syms and constants) in layout ``perm`` at rank ``ndim``."""
    syms = [v for v in values if isinstance(v, Sym)]
    graph = syms[0].graph
    dtype = np.result_type(*(s.dtype for s in syms), *(v for v in values if not isinstance(v, Sym)))
    names = []
    for v in values:
        if not isinstance(v, Sym):
            names.append(_lift(graph, v, dtype, ndim, perm))
            continue
        v = v.astype(dtype)
        if v.ndim < ndim:  # leading axes of size 1, as NumPy broadcasting assumes
            axes = graph.const(np.arange(ndim - v.ndim, dtype=np.int64))
            v = Sym(
                graph,
                graph.node("Unsqueeze", [v.logical().name, axes]),
                (1,) * (ndim - v.ndim) + v.shape,
                v.dtype,
            )
        names.append(v.to_perm(perm).name)
    return names


def elementwise(op: str, values, **attrs) -> Sym:
    """An element-wise ONNX op over Syms and constants with NumPy broadcasting.

    The result takes the layout of the first Sym of full rank; the other operands are
    transposed (Syms) or re-laid-out (constants) to match, so that a per-channel constant
    ``(C,)`` meets an NCHW activation as ``(1, C, 1, 1)``.
    """
    syms = [v for v in values if isinstance(v, Sym)]
    shape = _broadcast([v.shape if isinstance(v, Sym) else np.shape(v) for v in values])
    ndim = len(shape)
    full = [s for s in syms if s.ndim == ndim]
    perm = full[0].perm if full else identity(ndim)
    names = operands(values, ndim, perm)
    out = syms[0].graph.node(op, names, **attrs)
    dtype = np.result_type(*(s.dtype for s in syms), *(v for v in values if not isinstance(v, Sym)))
    return Sym(syms[0].graph, out, shape, dtype, perm)


def binary(op: str, a, b) -> Sym:
    """``a <op> b`` for the arithmetic operators of :class:`Sym`."""
    return elementwise(op, [a, b])


def _ndim(v) -> int:
    return v.ndim if isinstance(v, Sym) else np.ndim(v)


def matmul(a, b) -> Sym:
    """``a @ b`` for 2-D operands (a dense layer), in logical order."""
    if _ndim(a) != 2 or _ndim(b) != 2:
        raise ValueError("only 2-D matrix products are traced")
    graph = (a if isinstance(a, Sym) else b).graph
    out = graph.node("MatMul", operands([a, b], 2, identity(2)))
    dtype = a.dtype if isinstance(a, Sym) else b.dtype
    return Sym(graph, out, (a.shape[0], b.shape[1]), dtype)


def getitem(x: Sym, index) -> Sym:
    """Basic NumPy indexing (ints, slices, one Ellipsis) as ``Slice`` and ``Squeeze``."""
    index = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in index):
        at = index.index(Ellipsis)
        fill = (slice(None),) * (x.ndim - len(index) + 1)
        index = index[:at] + fill + index[at + 1 :]
    index = index + (slice(None),) * (x.ndim - len(index))
    index = tuple(int(i) if isinstance(i, np.integer) else i for i in index)
    if len(index) != x.ndim or not all(isinstance(i, (int, slice)) for i in index):
        raise IndexError(f"only ints, slices and one Ellipsis are traced, got {index}")
    g = x.graph
    starts, ends, axes, steps, dropped, shape = [], [], [], [], [], []
    for axis, (i, d) in enumerate(zip(index, x.shape)):
        if i == slice(None):
            shape.append(d)
            continue
        if g.dynamic and is_batch(d):
            raise IndexError("indexing the batch axis of a dynamic-batch graph is not traced")
        if isinstance(i, int):
            start, stop, step = i % d, i % d + 1, 1
            dropped.append(axis)
        else:
            start, stop, step = i.indices(d)
            shape.append(len(range(start, stop, step)))
            if step < 0 and stop < 0:
                stop = -(2**63)  # before the first element
        starts.append(start)
        ends.append(stop)
        axes.append(x.perm.index(axis))
        steps.append(step)
    name = x.name
    if axes:
        ins = [np.array(v, np.int64) for v in (starts, ends, axes, steps)]
        name = g.node("Slice", [name, *map(g.const, ins)])
    perm = x.perm
    if dropped:
        phys = sorted(x.perm.index(a) for a in dropped)
        name = g.node("Squeeze", [name, g.const(np.array(phys, np.int64))])
        perm = _renumber(x.perm, dropped)
    return Sym(g, name, tuple(shape), x.dtype, perm)
