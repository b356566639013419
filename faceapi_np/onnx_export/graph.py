"""The graph a trace builds: nodes and initializers, plus the batch dimension.

:class:`Graph` collects ``(op_type, inputs, outputs, attrs)`` tuples and NumPy
initializers (this module needs no onnx import; :mod:`.export` makes the protos).
:class:`BatchDim` is how a dynamic batch travels through a trace: see
:mod:`.symbolic`.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

#: Batch size a dynamic-batch trace runs with (not 1, so that broadcasting cannot hide a
#: batch axis mistake).
TRACE_BATCH = 2


class BatchDim(int):
    """The batch size of a dynamic-batch trace: an int that is known to mean ``N``.

    Arithmetic on it gives plain ints, so a shape computed from it (``n * 5118``) is no
    longer dynamic; only the value itself, passed on, stays symbolic.
    """

    def __repr__(self) -> str:
        return f"N({int(self)})"


def is_batch(d) -> bool:
    """True for a :class:`BatchDim`."""
    return isinstance(d, BatchDim)


class Graph:
    """The nodes and initializers a trace collects, in the order they were made.

    Nodes are ``(op_type, inputs, outputs, attrs)`` tuples and initializers NumPy arrays,
    so this module needs no onnx import; :mod:`.export` turns both into protos.

    Parameters
    ----------
    dynamic : bool
        Whether the batch dimension is dynamic (see :class:`BatchDim`).
    """

    def __init__(self, dynamic: bool = False):
        self.dynamic = dynamic
        self.nodes: list[tuple] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.input_name: str | None = None
        self._consts: dict[tuple, str] = {}
        self._counter = itertools.count()
        self._batch: str | None = None

    def fresh(self, hint: str) -> str:
        """A new tensor name."""
        return f"{hint}_{next(self._counter)}"

    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        """Append a node; returns its output name (a list when ``n_out > 1``)."""
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        self.nodes.append((op, list(inputs), outs, attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None) -> str:
        """An initializer holding ``value``; equal constants are stored once."""
        a = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        key = (a.dtype.str, a.shape, hashlib.sha1(a.tobytes()).hexdigest())
        if key not in self._consts:
            name = self.fresh("const")
            self.initializers[name] = a
            self._consts[key] = name
        return self._consts[key]

    def batch_size(self) -> str:
        """A ``(1,)`` int64 tensor holding the batch size of the graph's input."""
        if self._batch is None:
            self._batch = self.node("Shape", [self.input_name], start=0, end=1)
        return self._batch

    def shape_tensor(self, dims) -> str:
        """An int64 tensor of ``dims``; a :class:`BatchDim` among them reads the input's batch."""
        dims = list(dims)
        if not (self.dynamic and any(is_batch(d) for d in dims)):
            return self.const(np.array([int(d) for d in dims], np.int64))
        parts, run = [], []
        for d in dims:
            if is_batch(d):
                if run:
                    parts.append(self.const(np.array(run, np.int64)))
                    run = []
                parts.append(self.batch_size())
            else:
                run.append(int(d))
        if run:
            parts.append(self.const(np.array(run, np.int64)))
        return self.node("Concat", parts, axis=0)

    def is_symbolic(self, value) -> bool:
        """Whether ``value`` (an argument of an xp call) needs nodes rather than NumPy."""
        if hasattr(value, "graph"):  # a Sym
            return True
        if isinstance(value, (list, tuple)):
            return any(self.is_symbolic(v) for v in value)
        return self.dynamic and is_batch(value)
