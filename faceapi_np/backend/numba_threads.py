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


@contextlib.contextmanager
def numba_threads(n: int):
    """numba kernels called from this thread use ``n`` threads (the count is per thread)."""
    previous = numba.get_num_threads()
    if n == previous:
        yield
        return
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


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
