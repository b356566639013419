"""The tap: how ``summary()`` and ``activations()`` look inside a forward pass for free.

A net's forward pass is written as the math it computes; layer functions that name an
output worth looking at are decorated with :func:`traced`, and a call gives the output
its name with ``name=``::

    @traced("conv {p.filters.shape[0]}x{p.filters.shape[0]}/{stride} + relu6")
    def pointwise_conv_layer(x, p, bk, stride): ...

    out = pointwise_conv_layer(x, params.conv_0, bk, 2, name="mobilenetv1/conv_0")

Outside :func:`recording` the decorator costs one context-variable lookup per layer. Inside
it, the active :class:`Tap` records each named output: its op (the decorator's text,
formatted with the call's arguments), shape, parameter count and multiply-adds
(:func:`count_macs`), and, when asked, the output itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from dataclasses import dataclass

import numpy as np

from .params import iter_params

_active: contextvars.ContextVar[Tap | None] = contextvars.ContextVar("tap", default=None)


@dataclass
class LayerRow:
    """One row of a net summary."""

    name: str
    op: str
    shape: tuple
    params: int
    macs: int


def count_macs(p, out_shape) -> int:
    """Multiply-adds of the layer whose params are ``p`` and output shape ``out_shape``.

    Filters named ``depthwise_filter`` (or ``filters`` of a params class that declares
    ``depthwise = True``) cost ``KH*KW`` per output element; other 4-D filters
    ``KH*KW*C_in`` per output element of their own ``C_out``; 2-D weights ``D_in*D_out``
    per sample. Biases and batch-norm vectors are not counted.
    """
    if p is None:
        return 0
    n = out_shape[0]
    spatial = out_shape[1] * out_shape[2] if len(out_shape) == 4 else 1
    total = 0
    for path, a in iter_params(p):
        leaf = path.rsplit("/", 1)[-1]
        if a.ndim == 4 and (leaf == "depthwise_filter" or getattr(p, "depthwise", False)):
            total += n * spatial * a.shape[0] * a.shape[1] * a.shape[2]
        elif a.ndim == 4:
            total += n * spatial * int(np.prod(a.shape))
        elif a.ndim == 2:
            total += n * a.shape[0] * a.shape[1]
    return int(total)


class Tap:
    """Records the named outputs of a forward pass run under :func:`recording`.

    Parameters
    ----------
    rows : bool
        Record a :class:`LayerRow` per layer (for summaries).
    capture : bool
        Keep each layer's output (as NumPy) under its name.
    """

    def __init__(self, rows: bool = False, capture: bool = False, to_numpy=None):
        self.rows: list[LayerRow] | None = [] if rows else None
        self.outputs: dict[str, np.ndarray] | None = {} if capture else None
        self._to_numpy = to_numpy or np.asarray

    def record(self, name: str, op: str, out, p=None, macs: int | None = None) -> None:
        """Record layer ``name``; ``macs`` overrides :func:`count_macs` where the output
        shape alone does not tell (e.g. a conv path that was padded afterwards)."""
        if self.rows is not None:
            n_params = sum(int(a.size) for _, a in iter_params(p)) if p is not None else 0
            macs = count_macs(p, out.shape) if macs is None else int(macs)
            self.rows.append(LayerRow(name, op, tuple(out.shape), n_params, macs))
        if self.outputs is not None:
            self.outputs[name] = self._to_numpy(out)

    def __call__(self, name: str, op: str, out, p=None, macs: int | None = None):
        """:meth:`record`, returning ``out`` (the form forward passes once called inline)."""
        self.record(name, op, out, p, macs)
        return out


@contextlib.contextmanager
def recording(tap: Tap):
    """Make ``tap`` record every named layer output computed inside the block."""
    token = _active.set(tap)
    try:
        yield tap
    finally:
        _active.reset(token)


def is_recording() -> bool:
    """Whether a tap is recording the layers computed now.

    A net that runs two named layers as one fused op asks this, and runs them apart
    while tapped, so that each layer keeps its summary row and its output.
    """
    return _active.get() is not None


def record(name: str, op: str, out, p=None):
    """Record an output that no traced layer made (e.g. a decoded result); returns ``out``."""
    tap = _active.get()
    if tap is not None:
        tap.record(name, op, out, p)
    return out


def traced(op, params="p", macs=None):
    """Decorate a layer function so that a call with ``name=...`` is recorded when tapped.

    Parameters
    ----------
    op : str or callable
        What the layer computes: a string formatted with the call's arguments by name
        (``"depthwise 3x3/{stride}"``), or ``op(arguments) -> str``.
    params : str or tuple of str
        The argument(s) holding the layer's parameters, counted in the summary.
    macs : callable, optional
        ``macs(arguments, out) -> int`` where :func:`count_macs` of the parameters and
        the output shape would be wrong.
    """

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def layer(*args, name: str | None = None, **kwargs):
            out = fn(*args, **kwargs)
            tap = _active.get()
            if tap is not None and name is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                a = bound.arguments
                if isinstance(params, str):
                    p = a.get(params)
                else:
                    p = tuple(a[k] for k in params if a.get(k) is not None)
                text = op(a) if callable(op) else op.format(**a)
                tap.record(name, text, out, p, None if macs is None else macs(a, out))
            return out

        return layer

    return decorate
