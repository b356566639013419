"""What the parallel kernels make before their threads start: arrays of zeros, a test.

In a ``parallel=True`` function numba turns a whole-array NumPy call or expression
(``np.zeros``, ``(a != 1.0).any()``) into a parallel region of its own, with its own
start and join of the threads: a kernel's row of zeros cost ~2 us a call alone, ~3 us
inside a forward pass (measured in FaceLandmark68Net's planned sequence: its threads
started 7-9 us after the kernel was entered, 3 of them in that region), once per kernel
call, 13-30 calls a pass. Done by a compiled function of its own that the kernel calls,
it is plain serial code. (``parallel_diagnostics`` on a kernel lists its parallel
loops: each kernel has one, its ``prange``.)
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True)
def zeros2d(rows, cols):
    """A (rows, cols) float32 array of zeros (a row of zeros standing in for the rows
    outside an image, or an empty array standing in for an absent term)."""
    return np.zeros((rows, cols), np.float32)


@njit(nogil=True)
def any_not_one(a):
    """Whether any value of ``a`` (1-D) differs from 1.0 (a divisor that divides)."""
    for v in a:
        if v != 1.0:
            return True
    return False
