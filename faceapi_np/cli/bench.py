"""``faceapi-np bench``: time every net on every backend (see :mod:`faceapi_np.bench`)."""

from __future__ import annotations

from .. import bench

NAME = "bench"
HELP = "time every net on every backend, per op, and the whole chain"


def add_arguments(parser) -> None:
    """The benchmark's own flags."""
    bench.add_arguments(parser)


def run(args) -> int:
    """Run the benchmark."""
    return bench.run(args)
