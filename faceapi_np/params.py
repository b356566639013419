"""From a flat weight map to a typed, shape-checked parameter tree.

:class:`ParamReader` hands out tensors by their original (TF) name, checks each shape and
remembers which names were used, so a net's ``params.py`` can build its tree and the
loader can report entries nobody asked for. The small dataclasses here are the param
shapes several nets share; each net's own ``params.py`` defines the rest.

Mirrors face-api.js ``src/common/extractWeightEntryFactory.ts`` (rank check, recorded
``{originalPath, paramPath}``) and ``disposeUnusedWeightTensors.ts``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .errors import WeightsError


class ParamReader:
    """Take tensors out of a weight map by name, checking shapes and recording use.

    Parameters
    ----------
    weights : dict of str -> ndarray
        As returned by :func:`faceapi_np.loader.load_weight_map`.
    source : str
        Where the weights came from, for error messages.
    """

    def __init__(self, weights: dict, source: str):
        self.weights = weights
        self.source = source
        self.used: set[str] = set()

    def take(self, name: str, shape: tuple) -> np.ndarray:
        """The float32 tensor ``name``; ``shape`` may hold ``None`` for 'any size'."""
        if name not in self.weights:
            raise WeightsError(
                f"{self.source}: tensor {name!r} is missing; is this the manifest of another net?"
            )
        arr = self.weights[name]
        ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape))
        if not ok:
            want = tuple("?" if s is None else s for s in shape)
            raise WeightsError(
                f"{self.source}: tensor {name!r} has shape {arr.shape}, expected {want}"
            )
        self.used.add(name)
        return np.ascontiguousarray(arr, dtype=np.float32)

    def leftovers(self) -> list[str]:
        """Names in the weight map that no :meth:`take` asked for, in manifest order."""
        return [n for n in self.weights if n not in self.used]


@dataclass
class ConvParams:
    """A convolution with bias: ``filters`` (KH, KW, C_in, C_out), ``bias`` (C_out,)."""

    filters: np.ndarray
    bias: np.ndarray


@dataclass
class SeparableConvParams:
    """Depthwise-separable conv: ``depthwise_filter`` (3, 3, C_in, 1),
    ``pointwise_filter`` (1, 1, C_in, C_out), ``bias`` (C_out,)."""

    depthwise_filter: np.ndarray
    pointwise_filter: np.ndarray
    bias: np.ndarray


@dataclass
class FCParams:
    """Fully connected layer: ``weights`` (D_in, D_out), ``bias`` (D_out,)."""

    weights: np.ndarray
    bias: np.ndarray


def take_conv(
    r: ParamReader,
    prefix: str,
    k: int,
    cin: int | None,
    cout: int | None,
    weights="filters",
    bias="bias",
) -> ConvParams:
    """Read ``<prefix>/<weights>`` (k, k, cin, cout) and ``<prefix>/<bias>`` (cout,)."""
    filters = r.take(f"{prefix}/{weights}", (k, k, cin, cout))
    return ConvParams(filters, r.take(f"{prefix}/{bias}", (filters.shape[3],)))


def take_separable_conv(
    r: ParamReader, prefix: str, cin: int, cout: int | None = None
) -> SeparableConvParams:
    """Read a separable conv's ``depthwise_filter``, ``pointwise_filter`` and ``bias``."""
    depthwise = r.take(f"{prefix}/depthwise_filter", (3, 3, cin, 1))
    pointwise = r.take(f"{prefix}/pointwise_filter", (1, 1, cin, cout))
    return SeparableConvParams(
        depthwise, pointwise, r.take(f"{prefix}/bias", (pointwise.shape[3],))
    )


def iter_params(tree, prefix: str = ""):
    """Yield ``(path, array)`` for every array in a param tree, paths like face-api.js's.

    Dataclass fields and list items become path segments: ``conv_pairs[0].depthwise_conv
    .filters`` is ``conv_pairs/0/depthwise_conv/filters``.
    """
    if isinstance(tree, np.ndarray) or hasattr(tree, "__cuda_array_interface__"):
        yield prefix, tree
    elif dataclasses.is_dataclass(tree):
        for f in dataclasses.fields(tree):
            yield from iter_params(
                getattr(tree, f.name), f"{prefix}/{f.name}" if prefix else f.name
            )
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            yield from iter_params(item, f"{prefix}/{i}" if prefix else str(i))


def map_params(tree, fn):
    """A copy of a param tree with ``fn`` applied to every array (e.g. move to a GPU)."""
    if isinstance(tree, np.ndarray):
        return fn(tree)
    if dataclasses.is_dataclass(tree):
        return dataclasses.replace(
            tree,
            **{f.name: map_params(getattr(tree, f.name), fn) for f in dataclasses.fields(tree)},
        )
    if isinstance(tree, list):
        return [map_params(t, fn) for t in tree]
    return tree
