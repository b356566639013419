"""The backend layer: the one place that decides where the hot ops run.

A :class:`Backend` carries the array namespace ``xp`` (numpy, or cupy for a GPU backend)
and the few kernels that dominate run time (``conv2d``, ``depthwise_conv2d``). Layers in
:mod:`faceapi_np.layers` call ``bk.xp.*`` and ``bk.<kernel>`` and never import an array
library themselves, so a new backend plugs in here without touching network code.

Backends are found by name in :data:`BACKENDS` and imported lazily, so importing
faceapi_np loads neither numba nor cupy. The active backend is, in order: the one given
to :func:`set_backend`, the ``FACEAPI_NP_BACKEND`` environment variable, or ``auto``.

``auto`` picks what is fastest for the work asked. An accelerated backend (cupy, numba)
costs a process time to start (importing it, loading or compiling its kernels) and saves
time on every image; when the caller said how much work is coming (:func:`expected_work`:
the command line does) and that work would not win the start back, ``auto`` stays on
NumPy. Otherwise it takes the first that works of :data:`AUTO_ORDER`, and one already
started in this process always. The rule and its measured constants are in
``docs/backends.md``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
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

#: Seconds a process spends starting numba with its kernels already compiled (importing
#: numba, its typing context, the cached kernels), and seconds it then saves per image
#: against NumPy, by detector (``"crops"``: face crops, no detector). From whole-process
#: times on the 2-core machine at a quiet time: one photo, numba 2.0 s and NumPy 1.4 s;
#: six photos, 2.8 s and 3.5 s (docs/benchmarks/startup-2026-11-29.md). cupy is assumed
#: to start as slowly (not measured).
ACCELERATED_START_S = 0.85
SAVED_PER_IMAGE_S = {"ssd": 0.22, "tiny": 0.08, "mtcnn": 1.5, "crops": 0.01}

_cache: dict[str, Backend] = {}
_active: str | None = None
_work: tuple[int, str] | None = None


@contextlib.contextmanager
def expected_work(images: int | None, detector: str = "ssd"):
    """Within this block, ``auto`` knows how much work is coming (``None``: it does not).

    With ``images`` images for ``detector`` (``"ssd"``, ``"tiny"``, ``"mtcnn"``, or
    ``"crops"`` for face crops without detection), ``auto`` starts an accelerated
    backend only if the time it saves on those images exceeds what starting it costs
    (:data:`ACCELERATED_START_S`, plus the kernels' compile time when they are not
    compiled yet); else it uses NumPy. Outside such a block the work is unknown, as in
    a long-running process, and the accelerated backends are preferred. The command
    line wraps each command's images in one::

        with expected_work(len(paths), "ssd"):
            for path in paths:
                detect_all_faces(path)
    """
    global _work
    previous = _work
    _work = None if images is None else (int(images), detector or "ssd")
    try:
        yield
    finally:
        _work = previous


def _accelerator_pays_off() -> bool:
    """Whether the work announced with :func:`expected_work` wins back an accelerator's start."""
    if _work is None:
        return True
    images, detector = _work
    saved = images * SAVED_PER_IMAGE_S.get(detector, SAVED_PER_IMAGE_S["ssd"])
    if saved <= ACCELERATED_START_S:
        return False  # decided without importing anything
    from . import numba_cache

    compile_s = numba_cache.compile_estimate() if numba_cache.compile_maybe_needed() else 0.0
    return saved > ACCELERATED_START_S + compile_s


def _auto() -> Backend:
    """The backend ``auto`` stands for now (see the module docstring)."""
    for name in AUTO_ORDER[:-1]:
        if name in _cache:  # already started here: using it costs nothing more
            return _cache[name]
    if not _accelerator_pays_off():
        return get_backend("numpy")
    for candidate in AUTO_ORDER:
        try:
            return get_backend(candidate)
        except BackendError as exc:
            if candidate in _WARN_IF_SKIPPED and candidate not in _warned:
                _warned.add(candidate)
                warnings.warn(
                    f"{exc}; falling back to a slower backend", RuntimeWarning, stacklevel=3
                )
    raise BackendError("no backend could be created")  # numpy always works


def _create(name: str) -> Backend:
    """Import backend ``name`` and make it; the numba one compiles its kernels if needed.

    The first numba backend on a machine (per numba, Python, CPU and kernel source) says
    so on stderr and compiles every kernel for every signature the nets use, so that no
    later call stops to compile; the cache's marker then records it.
    """
    module = importlib.import_module(BACKENDS[name])
    if name != "numba":
        return module.create()
    from . import numba_cache

    needed = numba_cache.compile_needed()
    if needed:
        numba_cache.announce()
    start = time.perf_counter()
    bk = module.create()
    if needed:
        from .kernel_warmup import compile_kernels

        compile_kernels(bk)
        numba_cache.mark_compiled(time.perf_counter() - start)
    return bk


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
        return _auto()
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)} or 'auto'")
    if name not in _cache:
        try:
            _cache[name] = _create(name)
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


__all__ = [
    "Backend",
    "available_backends",
    "expected_work",
    "get_backend",
    "set_backend",
    "BACKENDS",
]
