"""Arrays the parallel kernels make before their threads start.

In a ``parallel=True`` function numba turns a whole-array NumPy call such as ``np.zeros``
into a parallel region of its own, with its own start and join of the threads: a
kernel's row of zeros cost ~2 us a call alone, ~3 us inside a forward pass (measured
in FaceLandmark68Net's planned sequence: its threads started 7-9 us after the kernel was
entered, 3 of them in that region), once per kernel call, 13-30 calls a pass. Made by
a compiled function of its own that the kernel calls, it is a plain allocation.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True)
def zeros2d(rows, cols):
    """A (rows, cols) float32 array of zeros (a row of zeros standing in for the rows
    outside an image, or an empty array standing in for an absent term)."""
    return np.zeros((rows, cols), np.float32)
