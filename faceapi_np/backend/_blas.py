"""NumPy's bundled OpenBLAS, held to one thread while the numba backend is in use.

The numba backend's convs and dense layers do their own products
(``kernels/numba/gemm.py``); what is left to NumPy's BLAS is descriptor matching and a
caller's own NumPy code. OpenBLAS's own threads spin for a while after each call,
taking the cores from the numba kernels that follow (measured on a loaded 2-core
machine: the recognition net at batch 8 1.9 s median with OpenBLAS's threads against
0.32 s with one). OpenBLAS >= 0.3.27 (the one NumPy
wheels bundle) has ``openblas_set_num_threads_local``, which sets the count and returns
the previous one. Despite its name the count is the whole process's (measured with
scipy-openblas 0.3.31: a count of 1 set in one thread is what every other thread reads
back). So once the backend is created, every BLAS call in the process, a user's own
NumPy code included, runs on one thread. Setting it only around each conv and giving it
back after was tried and dropped: the dense layers then ran on OpenBLAS's threads, whose
spinning slowed the next forward pass (FaceLandmark68TinyNet at batch 1 2.5 -> 3.3 ms
median over seven interleaved rounds, 2.4-2.5 again with the count held at one).
Where the function is missing (another BLAS), the threading is left to that BLAS.
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
