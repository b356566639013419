"""Planned convs for the numba backend: all that a conv needs but its input, worked out once.

A conv's kernel takes ~20 arguments: the filter packed for the product, its geometry,
its tiles, its epilogue terms as float32 arrays. Working them out is Python, and on the
small nets at batch 1 that Python was ~15% of a forward pass (FaceLandmark68Net: 3,000
separable convs in 200 passes, ~13 us each of Python around ~90 us of kernel). A *plan*
is that work done once for a filter and an input shape: a function of the input (and
the residual, which changes every call) that allocates the output, takes this thread's
scratch and calls the kernel. :class:`FilterCache` keeps plans, and the packed filters
they use, beside the filter array, for as long as it lives.

Plain Python: the kernels are in ``kernels/numba/``, the tiling rules in
``numba_tiling.py``.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np


class FilterCache:
    """Values made from a filter array, kept as long as the array lives.

    :meth:`get` returns ``make()`` made once per filter and ``key``; ``same`` are other
    arrays the value was made from (bias, scale), which must be the very same objects for
    a hit. At most ``per_filter`` values are kept per filter, the oldest dropped first
    (an MTCNN pyramid meets a new input shape with every photo size). Values are made
    once: a filter changed in place afterwards is not seen (load new weights as new
    arrays, as the loader does).
    """

    def __init__(self, per_filter: int = 16):
        self.per_filter = per_filter
        self._store = {}  # id(filter) -> (weak reference, OrderedDict key -> (same, value))
        self._lock = threading.Lock()

    def get(self, w, key, make, same=()):
        """``make()`` for ``(w, key)``, made on the first call (see the class)."""
        # the lookup takes no lock (each dict operation is atomic); a hit is one that was
        # made from the very same arrays
        entry = self._store.get(id(w))
        if entry is not None and entry[0]() is w:
            hit = entry[1].get(key)
            if hit is not None and len(hit[0]) == len(same):
                for a, b in zip(hit[0], same):
                    if a is not b:
                        break
                else:
                    return hit[1]
        value = make()
        with self._lock:
            entry = self._store.get(id(w))
            if entry is None or entry[0]() is not w:
                # dropped with the filter (a net's weights live as long as the net)
                ref = weakref.ref(w, self._forget(id(w)))
                entry = self._store[id(w)] = (ref, OrderedDict())
            entry[1][key] = (tuple(same), value)
            entry[1].move_to_end(key)
            if len(entry[1]) > self.per_filter:
                entry[1].popitem(last=False)
        return value

    def _forget(self, key):
        """The weak reference's callback: drop the values of the filter ``key``."""
        return lambda _: self._store.pop(key, None)

    def __len__(self) -> int:
        """How many filters have values kept."""
        return len(self._store)

    def __contains__(self, item) -> bool:
        """``(w, key) in cache``: whether a value is kept for that filter and key."""
        w, key = item
        entry = self._store.get(id(w))
        return entry is not None and entry[0]() is w and key in entry[1]


def epilogue_terms(f32, bias, scale, cout):
    """(bias, scale_w, scale_b) as the kernels take them: float32, zero-length if absent."""
    empty = np.zeros(0, np.float32)
    sw, sb = (empty, empty) if scale is None else (f32(scale[0]), f32(scale[1]))
    return (empty if bias is None else f32(bias)), sw, sb


#: The residual rows of a conv without one (made once: run on every call).
_NO_RESIDUAL = np.zeros((0, 0), np.float32)


def residual_rows(f32, residual, cout):
    """The residual as (M, C_out) float32 rows, or an empty (0, 0) array if absent."""
    if residual is None:
        return _NO_RESIDUAL
    return f32(residual).reshape(-1, cout)


def pooled_shape(shape):
    """The shape of a 2x2 / 2 'same' max pool of an (N, H, W, C) output, pooled in-kernel."""
    n, h, w, c = shape
    return n, -(-h // 2), -(-w // 2), c


def tap_offsets(kh: int, kw: int, cin: int, padded_width: int) -> np.ndarray:
    """Where each tap (ky, kx, ci) of an output pixel's receptive field lies from the
    pixel's first value, in floats, in rows of ``padded_width`` pixels (the few-channel
    conv's padded copy of its input rows): ``(ky * Wp + kx) * C_in + ci``, int64."""
    ky, kx, ci = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(cin), indexing="ij")
    return ((ky * padded_width + kx) * cin + ci).reshape(-1).astype(np.int64)


def norm_rows(norm, width: int, cin: int) -> np.ndarray:
    """An input normalisation (scale, offset, divisor: one float per channel each) as
    three float32 rows along a whole input row of ``width`` pixels, as the few-channel
    conv applies them while copying the row; no rows for none."""
    if norm is None:
        return np.zeros((0, width * cin), np.float32)
    return np.stack([np.tile(np.asarray(v, np.float32), width) for v in norm])
