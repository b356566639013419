"""Keeping freed activation memory in the process for the next forward pass (glibc).

A forward pass allocates its activations and frees them as it goes. glibc's malloc gives
blocks above a moving threshold back to the kernel (``mmap`` / heap trimming), so the
next pass gets fresh pages, and the kernel zeroes each of them on first touch: measured
on FaceLandmark68TinyNet at batch 8, 1,831 page faults a pass and 7.4-11.6 ms against 0
faults and 4.8-5.6 ms with the thresholds below (FaceLandmark68Net at batch 8: 9.5-13.2
against 7.7-9.0 ms; the other nets' passes already reused their memory). The thresholds
are the process's, so they apply to the whole program: blocks up to 32 MiB come from the
heap, and up to 128 MiB of free heap is kept instead of being returned. Settings a user
made (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) are left
alone, and so is any other C library.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap (glibc's own ceiling for the threshold).
MMAP_THRESHOLD = 32 << 20
#: Free heap kept for reuse before it is given back.
TRIM_THRESHOLD = 128 << 20
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; whether they were set (False elsewhere)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
