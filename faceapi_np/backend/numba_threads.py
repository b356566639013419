"""How the numba backend's ops use numba's threads.

Small ops run on one thread (handing part of them to another costs about what it saves),
and under numba's ``workqueue`` threading layer, which aborts the process when two Python
threads launch parallel kernels at once, the backend's ops run one at a time. Imported by
``numba_backend`` once numba is set up (``numba_cache.install()``).
"""

from __future__ import annotations

import contextlib
import functools

import numba

from .numba_tiling import SMALL_OP

_count = None  # numba's C function behind get_num_threads, once its threads are up


def current_threads() -> int:
    """``numba.get_num_threads()``, without its per-call check that the threads are up
    (~2 us of a ~10 us op at batch 1): after the first call, numba's own C function."""
    global _count
    if _count is None:
        n = numba.get_num_threads()  # starts the threads if need be
        from numba.np.ufunc import parallel

        _count = getattr(parallel, "_get_num_threads", None) or numba.get_num_threads
        return n
    return _count()


_set = None  # numba's C function behind set_num_threads, once its threads are up


def set_threads(n: int) -> None:
    """``numba.set_num_threads(n)``, in ~0.2 us instead of ~0.8 once numba's threads are
    up: its C function after a bounds check (a forward pass switches between 2 threads
    and 1, for its small ops, several times)."""
    global _set
    if _set is None or not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        numba.set_num_threads(n)  # starts the threads; raises on a count out of range
        from numba.np.ufunc import parallel

        _set = getattr(parallel, "_set_num_threads", None) or numba.set_num_threads
        return
    _set(n)


@contextlib.contextmanager
def numba_threads(n: int):
    """numba kernels called from this thread use ``n`` threads (the count is per thread)."""
    previous = current_threads()
    if n == previous:
        yield
        return
    set_threads(n)
    try:
        yield
    finally:
        set_threads(previous)


def threads_for(work: int):
    """Run a parallel kernel of ``work`` element operations on one thread if it is small.

    Handing part of it to another thread and waiting for it costs about what it saves
    below a few us of work.
    """
    return numba_threads(1) if work < SMALL_OP else contextlib.nullcontext()


def launches(method):
    """One call at a time under numba's ``workqueue`` threading layer, which aborts the
    process when two threads launch parallel kernels at once; free under ``omp``/``tbb``."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self._launch_lock is None:
            return method(self, *args, **kwargs)
        with self._launch_lock:
            return method(self, *args, **kwargs)

    return guarded
