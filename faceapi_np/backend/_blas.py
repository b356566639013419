"""Pinning NumPy's BLAS to one thread in the calling thread only.

The numba backend splits a convolution's matrix products over threads of its own; a
BLAS that also started its threads inside each of them would put four busy threads on
two cores, and OpenBLAS's threads spin after each call, taking the cores from the numba
kernels that follow (measured on a loaded 2-core machine: the recognition net at batch 8
1.9 s median with OpenBLAS's threads against 0.32 s with one). OpenBLAS >= 0.3.27 (the
one NumPy wheels bundle) has ``openblas_set_num_threads_local``, which sets the count
for the calling thread and returns the previous one, leaving the rest of the process
(a user's own NumPy code) as it was. Where it is missing (another BLAS), :func:`can_pin`
is False and the backend leaves the threading to the BLAS.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os


@functools.lru_cache(maxsize=1)
def _set_local():
    """The ``openblas_set_num_threads_local`` of NumPy's bundled OpenBLAS, or None."""
    import numpy as np

    # NumPy's wheels bundle their OpenBLAS in numpy.libs; other builds (MKL, Accelerate, a
    # system BLAS) have none there and keep their own threading
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*"))):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


def can_pin() -> bool:
    """Whether BLAS can be made single-threaded in one thread (NumPy's OpenBLAS)."""
    return _set_local() is not None


def pin_this_thread() -> None:
    """BLAS calls from this thread run on it alone from now on (a no-op without control)."""
    fn = _set_local()
    if fn is not None:
        fn(1)


@contextlib.contextmanager
def single_threaded():
    """BLAS calls from this thread run on this thread alone while inside the block."""
    fn = _set_local()
    if fn is None:
        yield
        return
    previous = fn(1)
    try:
        yield
    finally:
        fn(previous)
