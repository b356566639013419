"""NumPy's bundled OpenBLAS for the numba backend: its sgemm, and one thread for it.

The numba backend's conv kernel calls BLAS's sgemm from each of numba's threads
(:func:`sgemm_address`, ``kernels/numba/blas.py``); a BLAS that also started its
threads inside each of them would put four busy threads on two cores, and OpenBLAS's threads spin after each call, taking the cores from the numba
kernels that follow (measured on a loaded 2-core machine: the recognition net at batch 8
1.9 s median with OpenBLAS's threads against 0.32 s with one). OpenBLAS >= 0.3.27 (the
one NumPy wheels bundle) has ``openblas_set_num_threads_local``, which sets the count and
returns the previous one. Despite its name the count is the whole process's (measured
with scipy-openblas 0.3.31: a count of 1 set in one thread is what every other thread
reads back, and their products then run on one core, 130 -> 217 us for a (289, 576) @
(576, 64) product). So once the backend's first worker thread has pinned itself, every
BLAS call in the process, a user's own NumPy code included, runs on one thread. Setting
it only around each tiled conv and giving it back after was tried and dropped: the nets'
dense layers then ran on OpenBLAS's threads, whose spinning (the likely cause) slowed
the next forward pass: FaceLandmark68TinyNet at batch 1 2.5 -> 3.3 ms median over seven
interleaved rounds, 2.4-2.5 again with the count held at one.
Where the function is missing (another BLAS), :func:`can_pin` is False,
:func:`sgemm_address` is 0, and the backend leaves the threading to the BLAS and calls it
through ``np.matmul``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os


@functools.lru_cache(maxsize=1)
def _openblas():
    """NumPy's bundled OpenBLAS as a ``ctypes`` library, or None."""
    import numpy as np

    # NumPy's wheels bundle their OpenBLAS in numpy.libs; other builds (MKL, Accelerate, a
    # system BLAS) have none there and keep their own threading
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads_local"):
            return lib
    return None


@functools.lru_cache(maxsize=1)
def _set_local():
    """The ``openblas_set_num_threads_local`` of NumPy's bundled OpenBLAS, or None."""
    lib = _openblas()
    if lib is None:
        return None
    fn = lib.openblas_set_num_threads_local
    fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    return fn


#: The 64-bit-integer (ILP64) ``cblas_sgemm`` names NumPy's OpenBLAS builds have had.
_SGEMM_NAMES = ("scipy_cblas_sgemm64_", "cblas_sgemm64_")


@functools.lru_cache(maxsize=1)
def sgemm_address() -> int:
    """The address of NumPy's OpenBLAS ``cblas_sgemm`` (ILP64), for numba kernels; 0 if none.

    Only an OpenBLAS whose thread count can be pinned (:func:`can_pin`) counts: the kernels
    call it from several threads at once, each product single-threaded.
    """
    lib = _openblas()
    for name in _SGEMM_NAMES if lib is not None else ():
        fn = getattr(lib, name, None)
        if fn is not None:
            return ctypes.cast(fn, ctypes.c_void_p).value or 0
    return 0


def can_pin() -> bool:
    """Whether BLAS can be made single-threaded (NumPy's OpenBLAS; the count is process-wide)."""
    return _set_local() is not None


def pin_this_thread() -> None:
    """BLAS calls run on one thread from now on, in the whole process (a no-op without control)."""
    fn = _set_local()
    if fn is not None:
        fn(1)


@contextlib.contextmanager
def single_threaded():
    """BLAS calls run on one thread while inside the block (the count is process-wide)."""
    fn = _set_local()
    if fn is None:
        yield
        return
    previous = fn(1)
    try:
        yield
    finally:
        fn(previous)
