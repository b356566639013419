"""Sample group photos for the demo, the tests and the benchmark.

Six photos of groups of people ship in the npm package ``@vladmandic/face-api@1.7.15``
under ``package/demo/``; :func:`fetch` gets them with ``npm pack`` and checks them
against ``faceapi_np/data/samples.sha256``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import paths
from .fetch import fetch_from_npm, read_checksums

NPM_PACKAGE = "@vladmandic/face-api@1.7.15"
NPM_MEMBER_DIR = "package/demo"
DEFAULT_SAMPLE = "sample1.jpg"


def checksums() -> dict[str, str]:
    """``{file name: sha256}`` of the sample photos."""
    return read_checksums(paths.DATA_DIR / "samples.sha256")


def fetch(dir: str | os.PathLike | None = None) -> Path:
    """Download and verify the sample photos into ``dir``; returns the folder."""
    dest = paths.samples_dir(dir)
    how_else = f"Alternatively put your own photos in {dest} or pass image paths directly."
    return fetch_from_npm(NPM_PACKAGE, NPM_MEMBER_DIR, checksums(), dest, how_else)


def sample_path(name: str = DEFAULT_SAMPLE, dir: str | os.PathLike | None = None) -> Path:
    """Path of one sample photo, fetching the set first if needed."""
    if name not in checksums():
        raise KeyError(f"unknown sample {name!r}; known: {sorted(checksums())}")
    return fetch(dir) / name
