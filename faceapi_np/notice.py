"""One line on stderr about a slow first-run step, and the one switch that silences it.

Fetching the weights or compiling the numba kernels takes seconds the first time; the
library says so rather than sitting silent. ``FACEAPI_NP_QUIET=1`` (which
``faceapi-np --quiet`` sets) turns every such line, and the CLI's progress bars, off.
"""

from __future__ import annotations

import os
import sys

#: Set to "1" for silence on stderr (errors only).
QUIET_ENV = "FACEAPI_NP_QUIET"


def quiet() -> bool:
    """Whether ``FACEAPI_NP_QUIET`` (``faceapi-np --quiet``) asks for silence on stderr."""
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


def say(line: str) -> None:
    """Write ``faceapi_np: <line>`` on stderr, unless :func:`quiet`."""
    if not quiet():
        print(f"faceapi_np: {line}", file=sys.stderr, flush=True)
