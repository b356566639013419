"""``bk.xp`` of the graph backend: the NumPy functions the layers call, emitting ONNX nodes.

Each function computes with NumPy when none of its arguments is symbolic (a net's
params and constants fold away at export time, e.g. a batch norm's ``scale / sqrt(var +
eps)``), and otherwise appends nodes. Only what the layers and the nets' forward passes
call on activations is implemented; anything else, given a :class:`~.symbolic.Sym`,
raises a ``TypeError`` naming the function, so a net that starts calling a new one fails
loudly at export rather than producing a wrong graph.
"""

from __future__ import annotations

import numpy as np

from .graph import is_batch
from .symbolic import ONNX_TYPES, Sym, _broadcast, elementwise, identity


class SymbolicNumpy:
    """A NumPy look-alike over :class:`~.symbolic.Sym` values of one graph."""

    def __init__(self, graph):
        self.graph = graph

    def __getattr__(self, name: str):
        value = getattr(np, name)  # dtypes, constants, and functions not traced below
        if not callable(value) or isinstance(value, type):
            return value

        def numpy_only(*args, **kwargs):
            if self.graph.is_symbolic(args) or self.graph.is_symbolic(list(kwargs.values())):
                raise TypeError(f"xp.{name} is not traced to ONNX; add it to {__name__}")
            return value(*args, **kwargs)

        return numpy_only

    # --- conversions ------------------------------------------------------------------

    def asarray(self, a, dtype=None):
        if isinstance(a, Sym):
            return a if dtype is None else a.astype(dtype)
        return np.asarray(a, dtype=dtype)

    def ascontiguousarray(self, a, dtype=None):
        return self.asarray(a, dtype) if isinstance(a, Sym) else np.ascontiguousarray(a, dtype)

    # --- element-wise -----------------------------------------------------------------

    def _unary(self, np_fn, op: str, x):
        return x.unary(op) if isinstance(x, Sym) else np_fn(x)

    def exp(self, x):
        return self._unary(np.exp, "Exp", x)

    def sqrt(self, x):
        return self._unary(np.sqrt, "Sqrt", x)

    def abs(self, x):
        return self._unary(np.abs, "Abs", x)

    def negative(self, x):
        return self._unary(np.negative, "Neg", x)

    def add(self, a, b):
        return a + b

    def subtract(self, a, b):
        return a - b

    def multiply(self, a, b):
        return a * b

    def divide(self, a, b):
        return a / b

    def maximum(self, a, b):
        if not self.graph.is_symbolic([a, b]):
            return np.maximum(a, b)
        if isinstance(a, Sym) and not isinstance(b, Sym) and np.ndim(b) == 0 and b == 0:
            return a.unary("Relu")  # the same values, and runtimes fuse it into the conv
        return elementwise("Max", [a, b])

    def minimum(self, a, b):
        if not self.graph.is_symbolic([a, b]):
            return np.minimum(a, b)
        return elementwise("Min", [a, b])

    def clip(self, x, lo, hi):
        if not isinstance(x, Sym):
            return np.clip(x, lo, hi)
        g = self.graph
        bounds = ["" if v is None else g.const(np.asarray(v, x.dtype)) for v in (lo, hi)]
        return x.derive(g.node("Clip", [x.name, *bounds]))

    # --- shape ------------------------------------------------------------------------

    def reshape(self, a, shape):
        return a.reshape(shape)

    def transpose(self, a, axes=None):
        return a.transpose(axes) if axes is not None else a.transpose()

    def mean(self, a, axis=None, keepdims=False):
        return a.mean(axis=axis, keepdims=keepdims)

    def sum(self, a, axis=None, keepdims=False):
        return a.sum(axis=axis, keepdims=keepdims)

    def max(self, a, axis=None, keepdims=False):
        return a.max(axis=axis, keepdims=keepdims)

    def concatenate(self, arrays, axis: int = 0):
        """``Concat`` in the layout of the first array when all share it, else in NHWC."""
        arrays = list(arrays)
        if not self.graph.is_symbolic(arrays):
            return np.concatenate(arrays, axis=axis)
        syms = [a for a in arrays if isinstance(a, Sym)]
        ndim = syms[0].ndim
        axis %= ndim
        same = all(isinstance(a, Sym) and a.perm == syms[0].perm for a in arrays)
        perm = syms[0].perm if same else identity(ndim)
        names = []
        for a in arrays:
            if isinstance(a, Sym):
                names.append(a.to_perm(perm).name)
            else:
                names.append(self.graph.const(np.asarray(a, syms[0].dtype)))
        shapes = [a.shape if isinstance(a, Sym) else np.shape(a) for a in arrays]
        if any(
            len(s) != ndim or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
            for s in shapes
        ):
            raise ValueError(f"cannot concatenate shapes {shapes} along axis {axis}")
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        out = self.graph.node("Concat", names, axis=perm.index(axis))
        return Sym(self.graph, out, tuple(shape), syms[0].dtype, perm)

    def stack(self, arrays, axis: int = 0):
        """``Unsqueeze`` each array, then ``Concat``."""
        arrays = list(arrays)
        if not self.graph.is_symbolic(arrays):
            return np.stack(arrays, axis=axis)
        g = self.graph
        ndim = np.ndim(arrays[0]) if not isinstance(arrays[0], Sym) else arrays[0].ndim
        axis %= ndim + 1
        expanded = []
        for a in arrays:
            if not isinstance(a, Sym):
                expanded.append(np.expand_dims(a, axis))
                continue
            a = a.logical()
            shape = a.shape[:axis] + (1,) + a.shape[axis:]
            axes = g.const(np.array([axis], np.int64))
            expanded.append(Sym(g, g.node("Unsqueeze", [a.name, axes]), shape, a.dtype))
        return self.concatenate(expanded, axis=axis)

    def tile(self, a, reps):
        """``Tile``; repeats may hold the batch dimension (e.g. anchors tiled per image)."""
        if not self.graph.is_symbolic([a, *reps]):
            return np.tile(a, reps)
        g = self.graph
        if not isinstance(a, Sym):
            a = Sym(g, g.const(a), np.shape(a), np.asarray(a).dtype)
        reps = tuple(reps)
        if len(reps) != a.ndim:
            raise ValueError("traced tile needs one repeat per axis")
        a = a.logical()
        shape = tuple(r if is_batch(r) and d == 1 else d * r for d, r in zip(a.shape, reps))
        return Sym(g, g.node("Tile", [a.name, g.shape_tensor(reps)]), shape, a.dtype)

    def pad(self, a, pad_width, mode: str = "constant", constant_values=0):
        """Constant ``Pad`` with NumPy's ``((before, after), ...)`` widths."""
        if not isinstance(a, Sym):
            return np.pad(a, pad_width, mode=mode, constant_values=constant_values)
        if mode != "constant":
            raise TypeError(f"xp.pad mode {mode!r} is not traced")
        widths = np.broadcast_to(np.asarray(pad_width, np.int64), (a.ndim, 2))
        phys = widths[list(a.perm)]  # ONNX pads: all befores, then all afters, physical order
        pads = self.graph.const(np.concatenate([phys[:, 0], phys[:, 1]]))
        value = self.graph.const(np.asarray(constant_values, a.dtype))
        shape = tuple(d + int(w.sum()) if w.any() else d for d, w in zip(a.shape, widths))
        return a.derive(self.graph.node("Pad", [a.name, pads, value]), shape=shape)

    def zeros_like(self, a, dtype=None):
        """``ConstantOfShape`` of the array's (runtime) shape, in its layout."""
        if not isinstance(a, Sym):
            return np.zeros_like(a, dtype=dtype)
        dtype = np.dtype(dtype or a.dtype)
        shape = self.graph.node("Shape", [a.name])
        out = self.graph.node("ConstantOfShape", [shape], value=np.zeros(1, dtype))
        return a.derive(out, dtype=dtype)

    def broadcast_shapes(self, *shapes):
        return _broadcast(shapes)


__all__ = ["SymbolicNumpy", "ONNX_TYPES"]
