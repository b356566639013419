"""Checks of user-given numbers shared by the Options classes.

An option is accepted when it is a real number of any kind a user is likely to hold
(``int``, ``float``, and NumPy scalars such as ``np.float32`` or ``np.int64``, which
``numbers.Real`` / ``numbers.Integral`` include), finite and in range; ``bool`` is refused
although Python counts it as an integer, and so is NaN, which compares false with every
bound and would otherwise slip through a range check. The value comes back as a plain
Python ``float`` or ``int``, so options compare, hash and print alike whatever the caller
passed.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import OptionsError


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def real(owner: str, name: str, value, low: float, high: float, *, open_low=True, open_high=True):
    """``value`` as a finite float in the interval, else an OptionsError naming the option.

    ``open_low`` / ``open_high`` say whether the bound itself is excluded; ``math.inf``
    as ``high`` means 'no upper bound'.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise OptionsError(f"{owner}: {name} must be a number, got {value!r}")
    v = float(value)
    above = v > low if open_low else v >= low
    below = v < high if open_high else v <= high
    if not (math.isfinite(v) and above and below):
        if high == math.inf:
            span = f"a finite number greater than {low:g}"
        else:
            ends = {(True, True): "exclusive", (False, False): "inclusive"}
            which = ends.get(
                (open_low, open_high),
                "lower bound excluded" if open_low else "upper bound excluded",
            )
            span = f"a number between {low:g} and {high:g} ({which})"
        raise OptionsError(f"{owner}: {name} must be {span}, got {value!r}")
    return v


def integer(owner: str, name: str, value, low: int, high: float = math.inf) -> int:
    """``value`` as an int in ``[low, high]``, else an OptionsError naming the option.

    Whole floats (``416.0``) are refused like any float: a size or count given as a float
    is usually a mistake further up.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise OptionsError(f"{owner}: {name} must be an integer, got {value!r}")
    v = int(value)
    if not low <= v <= high:
        span = f"at least {low}" if high == math.inf else f"between {low} and {int(high)}"
        raise OptionsError(f"{owner}: {name} must be an integer {span}, got {value!r}")
    return v
