"""The ``faceapi-np`` command line (also ``python -m faceapi_np``).

One module per command (``detect.py``, ``enroll.py``, ...), each with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; :mod:`.main` lists them and builds
the parser; :mod:`.common` holds what several commands share (detector and chain flags
generated from the Options dataclasses, the per-image loop, JSON records).
"""

from .main import main

__all__ = ["main"]
