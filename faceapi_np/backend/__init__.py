"""The backend layer: the one place that decides where the hot ops run.

A :class:`Backend` carries the array namespace ``xp`` (numpy, or cupy for a GPU backend)
and the few kernels that dominate run time (``conv2d``, ``depthwise_conv2d``). Layers in
:mod:`faceapi_np.layers` call ``bk.xp.*`` and ``bk.<kernel>`` and never import an array
library themselves, so a new backend plugs in here without touching network code.

Backends are found by name in :data:`BACKENDS` and imported lazily, so importing
faceapi_np loads neither numba nor cupy. The active backend is, in order: the one given
to :func:`set_backend`, the ``FACEAPI_NP_BACKEND`` environment variable, or the first
that works of ``auto``'s preference list.
"""

from __future__ import annotations

import importlib
import os
import warnings

from ..errors import BackendError
from .base import Backend

#: Backend name -> module defining ``create() -> Backend``.
BACKENDS = {
    "numpy": "faceapi_np.backend.numpy_backend",
    "numba": "faceapi_np.backend.numba_backend",
    "cupy": "faceapi_np.backend.cupy_backend",
}

#: Order tried when no backend is named: the fastest that works here (a GPU if usable).
AUTO_ORDER = ("cupy", "numba", "numpy")
#: Backends whose absence is worth a warning when 'auto' skips them (numba is an install
#: requirement, so missing or broken it means a slow, not a wrong, installation).
_WARN_IF_SKIPPED = ("numba",)
_warned: set[str] = set()

_cache: dict[str, Backend] = {}
_active: str | None = None


def available_backends() -> list[str]:
    """Names of the backends that can be created on this machine."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except BackendError:
            continue
        names.append(name)
    return names


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name``, or the active one when ``name`` is None.

    Raises :class:`~faceapi_np.errors.BackendError` for an unknown name or a backend whose
    library is missing.
    """
    if name is None:
        name = _active or os.environ.get("FACEAPI_NP_BACKEND") or "auto"
    if not isinstance(name, str):
        raise BackendError(f"a backend name must be a string such as 'numpy', got {name!r}")
    name = name.lower()
    if name == "auto":
        for candidate in AUTO_ORDER:
            try:
                return get_backend(candidate)
            except BackendError as exc:
                if candidate in _WARN_IF_SKIPPED and candidate not in _warned:
                    _warned.add(candidate)
                    warnings.warn(
                        f"{exc}; falling back to a slower backend",
                        RuntimeWarning,
                        stacklevel=2,
                    )
        raise BackendError("no backend could be created")  # numpy always works
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)} or 'auto'")
    if name not in _cache:
        try:
            module = importlib.import_module(BACKENDS[name])
            _cache[name] = module.create()
        except BackendError:
            raise
        except ModuleNotFoundError as exc:
            hint = " (pip install 'faceapi-np[gpu]')" if name == "cupy" else ""
            raise BackendError(
                f"backend {name!r} is not usable here: {exc.name} is not installed{hint}"
            ) from None
        except Exception as exc:  # a library that fails to load or compile
            raise BackendError(
                f"backend {name!r} is not usable here: {type(exc).__name__}: {exc}"
            ) from None
    return _cache[name]


def set_backend(name: str | None) -> Backend | None:
    """Make ``name`` the active backend for every net and return it.

    ``None`` goes back to the default choice (``FACEAPI_NP_BACKEND`` or 'auto') and
    returns None.
    """
    global _active
    if name is None:
        _active = None
        return None
    bk = get_backend(name)  # fail now, not at the first forward pass
    _active = bk.name
    return bk


__all__ = ["Backend", "available_backends", "get_backend", "set_backend", "BACKENDS"]
