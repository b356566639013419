"""A backend whose ops build an ONNX graph instead of computing: how nets are exported.

:class:`GraphBackend` implements the :class:`~faceapi_np.backend.base.Backend` contract
on :class:`~.symbolic.Sym` tensors. Running a net's own ``forward`` with it records the
net (the layer functions of ``layers.py``, the params the NumPy backend reads) as ONNX
nodes, so the exported graph and the NumPy nets share one definition of every
architecture. Each fused op becomes the ONNX ops it stands for:

* ``conv2d``: the input normalisation of a first conv as ``Mul``/``Sub``/``Div``, ``Conv``
  (bias as its third input), then ``Mul``/``Add`` for a scale layer,
  ``Add`` for a residual, ``Relu`` / ``Clip(0, 6)`` / ``LeakyRelu(0.1)``, and a ``MaxPool``;
* ``depthwise_conv2d``: an optional input ``Relu``, ``Conv`` with ``group = C``, then the
  batch norm as ``y * inv + (offset - mean * inv)`` and the activation;
* ``max_pool``, ``avg_pool``: ``MaxPool``, ``AveragePool`` (padded cells not counted),
  with TF's 'same' padding written out as explicit, possibly asymmetric, pads.

Filters are stored as ONNX wants them (``(C_out, C_in, KH, KW)``, depthwise ``(C, 1, KH,
KW)``) and activations stay NCHW between convs (see :mod:`.symbolic`).
"""

from __future__ import annotations

import numpy as np

from ..activations import LEAKY_ALPHA
from ..backend.base import Backend
from ..backend.geometry import conv_geometry, window_pads
from ..errors import BackendError
from .graph import Graph
from .namespace import SymbolicNumpy
from .symbolic import NCHW, Sym


class GraphBackend(Backend):
    """Backend over symbolic tensors of one :class:`~.graph.Graph`."""

    name = "onnx-graph"

    def __init__(self, graph: Graph):
        super().__init__(SymbolicNumpy(graph))
        self.graph = graph

    def asarray(self, a):
        """Syms stay as they are; params stay NumPy and become initializers when used."""
        return a if isinstance(a, Sym) else np.asarray(a)

    def to_numpy(self, a):
        raise BackendError("the graph backend records ops; run the exported graph for values")

    # --- helpers ------------------------------------------------------------------------

    def _nchw(self, x) -> Sym:
        if not isinstance(x, Sym) or x.ndim != 4:
            raise BackendError(f"graph backend: expected a 4-D traced activation, got {x!r}")
        return x.to_perm(NCHW)

    def _activate(self, y: Sym, act) -> Sym:
        if act is None:
            return y
        if act == "relu":
            return y.unary("Relu")
        if act == "relu6":
            return self.xp.clip(y, 0, 6)
        if act == "leaky":  # face-api.js's relu(x - a*x) + a*x equals max(x, a*x) up to rounding
            return y.unary("LeakyRelu", alpha=float(LEAKY_ALPHA))
        raise ValueError(f"unknown activation {act!r}")

    def _window(self, x: Sym, op: str, w_name, kh, kw, stride, padding, cout, **attrs) -> Sym:
        """A Conv / pool node over NCHW ``x``; output (N, H', W', cout) logical, NCHW stored."""
        n, h, wd, _ = x.shape
        (t, b), (l, r) = window_pads(h, wd, kh, kw, stride, padding)
        _, _, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        inputs = [x.name] + ([] if w_name is None else list(w_name))
        out = self.graph.node(
            op,
            inputs,
            kernel_shape=[kh, kw],
            strides=[stride, stride],
            pads=[t, l, b, r],
            **attrs,
        )
        return Sym(self.graph, out, (n, ho, wo, cout), x.dtype, NCHW)

    # --- the Backend contract ------------------------------------------------------------

    def conv2d(
        self,
        x,
        w,
        stride=1,
        padding="same",
        bias=None,
        scale=None,
        residual=None,
        act=None,
        input_norm=None,
        max_pool=None,
    ):
        """See :meth:`Backend.conv2d` (``input_norm`` as ``Mul``, ``Sub``, ``Div`` nodes before
        the ``Conv``, each left out where it is the identity)."""
        x, g = self._nchw(x), self.graph
        if input_norm is not None:
            steps = [np.asarray(v, np.float32) for v in input_norm]
            if (steps[0] != 1).any():
                x = x * steps[0]
            if (steps[1] != 0).any():
                x = x - steps[1]
            if (steps[2] != 1).any():
                x = x / steps[2]
        w = np.asarray(w, np.float32)
        kh, kw, _, cout = w.shape
        weights = [
            g.const(w.transpose(3, 2, 0, 1))
        ]  # (KH, KW, C_in, C_out) -> (C_out, C_in, KH, KW)
        if bias is not None:
            weights.append(g.const(np.asarray(bias, np.float32)))
        y = self._window(x, "Conv", weights, kh, kw, int(stride), padding, cout)
        if scale is not None:
            y = y * np.asarray(scale[0], np.float32) + np.asarray(scale[1], np.float32)
        if residual is not None:
            y = y + residual
        y = self._activate(y, act)
        return self._pooled(y, max_pool)

    def depthwise_conv2d(self, x, w, stride=1, padding="same", bn=None, act=None, input_act=None):
        """See :meth:`Backend.depthwise_conv2d`."""
        x = self._activate(self._nchw(x), input_act)
        w = np.asarray(w, np.float32)
        kh, kw, c, _ = w.shape
        weights = [self.graph.const(w.transpose(2, 3, 0, 1))]  # -> (C, 1, KH, KW)
        y = self._window(x, "Conv", weights, kh, kw, int(stride), padding, c, group=c)
        if bn is not None:
            # (y - mean) * inv + offset written as y * inv + shift: a Mul and an Add, which
            # runtimes fold into the conv (a Sub they would not); equal up to float32 rounding
            mean, inv, offset = (np.asarray(v, np.float32) for v in bn)
            y = y * inv + (offset - mean * inv)
        return self._activate(y, act)

    def max_pool(self, x, k, stride, padding="same"):
        """See :meth:`Backend.max_pool` (ONNX ``MaxPool`` never picks a padded cell)."""
        x = self._nchw(x)
        return self._window(x, "MaxPool", None, int(k), int(k), int(stride), padding, x.shape[3])

    def avg_pool(self, x, k, stride, padding="valid"):
        """See :meth:`Backend.avg_pool` (``count_include_pad=0``: TF's divisor)."""
        x = self._nchw(x)
        return self._window(
            x,
            "AveragePool",
            None,
            int(k),
            int(k),
            int(stride),
            padding,
            x.shape[3],
            count_include_pad=0,
        )

    def resize_to_square(self, image, size, center=False):
        raise BackendError("resizing is not part of an exported net; the graph takes the batch")
