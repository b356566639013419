"""The base class of every network.

:class:`NeuralNetwork` mirrors face-api.js ``src/NeuralNetwork.ts``: a net has a default
model name (its manifest is ``<name>-weights_manifest.json``), ``load()`` reads the
weights into a typed param tree, and ``forward()`` runs it. On top of that every net
offers :meth:`~NeuralNetwork.summary` (a per-layer table of output shapes, parameter
counts and multiply-adds) and :meth:`~NeuralNetwork.activations` (every named
intermediate output), both recorded by a :class:`~faceapi_np.tap.Tap` while the forward
pass runs (see :mod:`faceapi_np.tap`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import paths
from .backend import Backend, get_backend
from .errors import InputError, WeightsError
from .loader import load_weight_map
from .params import ParamReader, iter_params, map_params
from .tap import LayerRow, Tap, count_macs, is_recording, recording

__all__ = ["LayerRow", "NeuralNetwork", "Summary", "Tap", "count_macs", "planned"]

log = logging.getLogger(__name__)


@dataclass
class Summary:
    """Per-layer table of a net: see :meth:`NeuralNetwork.summary`."""

    net: str
    input_shape: tuple
    rows: list

    @property
    def total_params(self) -> int:
        """Sum of the rows' parameter counts."""
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        """Sum of the rows' multiply-adds."""
        return sum(r.macs for r in self.rows)

    def as_dict(self) -> dict:
        """The summary as JSON-able data (``faceapi-np summary --json``)."""
        return {
            "net": self.net,
            "input_shape": list(self.input_shape),
            "layers": [dataclasses.asdict(r) | {"shape": list(r.shape)} for r in self.rows],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
        }

    def __str__(self) -> str:
        head = ("layer", "op", "output shape", "params", "mult-adds")
        body = [
            (r.name, r.op, "x".join(map(str, r.shape)), f"{r.params:,}", f"{r.macs:,}")
            for r in self.rows
        ]
        foot = ("total", "", "", f"{self.total_params:,}", f"{self.total_macs:,}")
        widths = [max(len(row[i]) for row in [head, *body, foot]) for i in range(5)]

        def fmt(row):
            return "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
            )

        rule = "-" * len(fmt(head))
        shape = "x".join(map(str, self.input_shape))
        return "\n".join(
            [
                f"{self.net} (input {shape})",
                fmt(head),
                rule,
                *map(fmt, body),
                rule,
                fmt(foot),
            ]
        )


#: Input shapes a net keeps a recorded forward pass for (the least recently used go).
PLANS_PER_NET = 4
_SEEN, _EAGER = "seen once", "not replayable"


def planned(forward):
    """Decorate a net's ``forward(self, batch, bk)`` whose kernels are the same for the
    same input shape: on a backend that records forward passes (``bk.plan_forward``:
    numba, see :mod:`faceapi_np.backend.forward_plan`), the second call with a shape
    records the pass as a plan and later calls replay it. A tapped pass (``summary``,
    ``activations``) runs eagerly, as does a pass that cannot be replayed."""

    @functools.wraps(forward)
    def run(self, batch, bk: Backend | None = None):
        bk = bk or get_backend()
        if not getattr(bk, "plan_forward", False) or is_recording():
            return forward(self, batch, bk)
        x = self._check_batch(batch, bk)
        key = (forward.__qualname__, bk.name, x.shape, bk.plan_key())
        plans = self.__dict__.setdefault("_forward_plans", OrderedDict())
        plan = plans.get(key)
        if plan is None or plan is _EAGER:  # the first pass with this shape runs as is
            if plan is None:
                self._keep_plan(key, _SEEN)
            return forward(self, x, bk)
        if plan is _SEEN:
            result, plan = bk.record(lambda inp: forward(self, inp, bk), x)
            self._keep_plan(key, _EAGER if plan is None else plan)
            return result
        try:
            plans.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: this call still has it
            pass
        result = plan(x)
        return forward(self, x, bk) if result is None else result  # None: busy elsewhere

    return run


class NeuralNetwork:
    """Base of every net: weights, params on each backend, forward, summary, activations.

    Subclasses set :attr:`model_name` and :attr:`default_input_size` and implement
    :meth:`extract_params` (weight map -> param tree) and :meth:`forward`.
    """

    #: Short name used by the CLI, ``nets.get_net`` and ``bench`` (``"ssd"``).
    name: str = ""
    #: Attribute of :mod:`faceapi_np.nets` holding the shared instance (face-api.js's
    #: ``faceapi.nets.ssdMobilenetv1``, in snake case).
    instance_name: str = ""
    #: ``"detector"`` (image in, face boxes out) or ``"face"`` (face crops in).
    role: str = ""
    #: face-api.js ``getDefaultModelName()``, the manifest's stem.
    model_name: str = ""
    #: Side of the square input batch used by :meth:`summary` and ``bench``.
    default_input_size: int = 0
    #: True when one forward pass at ``default_input_size`` is the net's whole work (what
    #: ``bench`` times); MTCNN runs three nets over an image pyramid instead.
    single_pass: bool = True

    def __init__(self):
        self.params = None
        self.unused_weights: list[str] = []
        self._on_backend: dict[str, object] = {}

    @property
    def is_loaded(self) -> bool:
        """True once :meth:`load` has run."""
        return self.params is not None

    def load(self, source: str | os.PathLike | None = None):
        """Load the weights from a folder, manifest path or URL (default: the weights folder).

        Returns ``self``. Raises :class:`~faceapi_np.errors.WeightsError` when files are
        missing, corrupt or belong to another net.
        """
        source = paths.weights_dir() if source is None else source
        weight_map = load_weight_map(source, self.model_name)
        reader = ParamReader(weight_map, f"{os.fspath(source)} [{self.model_name}]")
        self.params = self.extract_params(reader)
        self.unused_weights = reader.leftovers()
        if self.unused_weights:
            # face-api.js disposes these too (e.g. SSD's int32 graph constants)
            log.debug("%s: unused weights %s", self.model_name, self.unused_weights)
        self._on_backend = {}
        self._forward_plans = OrderedDict()  # recorded forward passes (see planned)
        return self

    def _keep_plan(self, key, plan) -> None:
        """Keep ``plan`` (or a state) for ``key``, dropping the least recently used."""
        plans = self.__dict__.setdefault("_forward_plans", OrderedDict())
        plans[key] = plan
        plans.move_to_end(key)
        while len(plans) > PLANS_PER_NET:
            plans.popitem(last=False)

    def extract_params(self, reader: ParamReader):
        """Build this net's param tree from ``reader`` (face-api.js ``extractParamsFromWeigthMap``)."""
        raise NotImplementedError

    def params_on(self, bk: Backend):
        """The param tree as arrays of backend ``bk`` (converted once, then cached)."""
        if self.params is None:
            raise WeightsError(f"{type(self).__name__}: load the weights before running the net")
        if bk.xp is np:
            return self.params
        if bk.name not in self._on_backend:
            self._on_backend[bk.name] = map_params(self.params, bk.asarray)
        return self._on_backend[bk.name]

    def iter_params(self):
        """Yield ``(path, array)`` for every parameter, e.g. ``mobilenetv1/conv_0/filters``."""
        return iter_params(self.params)

    def forward(self, batch, bk: Backend | None = None):
        """Run the net on an ``(N, S, S, 3)`` float32 batch of RGB values 0..255."""
        raise NotImplementedError

    def _check_batch(self, batch, bk: Backend):
        """The batch as a float32 backend array, or an InputError saying what is wrong."""
        shape = getattr(batch, "shape", None)
        if shape is None or len(shape) != 4 or shape[3] != 3 or min(shape) == 0:
            raise InputError(
                f"{type(self).__name__}: expected a batch of shape (N, H, W, 3), got {shape}"
            )
        if not np.issubdtype(np.dtype(batch.dtype), np.number):
            raise InputError(f"{type(self).__name__}: batch dtype {batch.dtype} is not numeric")
        return bk.asarray(batch).astype(bk.xp.float32, copy=False)

    def summary(self, input_size: int | None = None, batch_size: int = 1) -> Summary:
        """Per-layer table: name, op, output shape, parameter count, multiply-adds."""
        s = input_size or self.default_input_size
        with recording(Tap(rows=True)) as tap:
            self.forward(np.zeros((batch_size, s, s, 3), np.float32), get_backend("numpy"))
        return Summary(type(self).__name__, (batch_size, s, s, 3), tap.rows)

    def activations(self, batch, bk: Backend | None = None) -> dict[str, np.ndarray]:
        """Every named intermediate output of a forward pass, as NumPy arrays, in order."""
        bk = bk or get_backend()
        with recording(Tap(capture=True, to_numpy=bk.to_numpy)) as tap:
            self.forward(batch, bk)
        return tap.outputs
