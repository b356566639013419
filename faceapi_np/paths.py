"""Where faceapi_np keeps fetched files: weights, sample photos, caches.

Resolution order for each folder: an explicit argument, then an environment variable,
then the folder inside a source checkout (``weights/``, ``tests/data/samples/``), then
a per-user cache (``$XDG_CACHE_HOME/faceapi_np`` or ``~/.cache/faceapi_np``).

``FACEAPI_NP_WEIGHTS`` (or the argument) may also be an ``http(s)://`` URL, which the
loader downloads from; it is kept as a :class:`WeightsURL`, never turned into a path
(``Path("http://host/w")`` would read ``http:/host/w``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def source_checkout() -> Path | None:
    """The repository root when running from a source checkout (editable install), else None."""
    root = PACKAGE_DIR.parent
    if (root / "setup.py").is_file() and (root / "weights" / "SHA256SUMS").is_file():
        return root
    return None


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/faceapi_np``, defaulting to ``~/.cache/faceapi_np``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faceapi_np"


class WeightsURL(str):
    """An ``http(s)://`` weights location; ``url / name`` joins like a path does."""

    def __truediv__(self, name: str) -> WeightsURL:
        return WeightsURL(self.rstrip("/") + "/" + str(name))


def is_url(location) -> bool:
    """True for an ``http://`` or ``https://`` string."""
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def weights_dir(path: str | os.PathLike | None = None) -> Path | WeightsURL:
    """Folder (or URL) holding the face-api.js manifests and shards."""
    if path is None:
        path = os.environ.get("FACEAPI_NP_WEIGHTS") or None
    if path is not None:
        return WeightsURL(path) if is_url(path) else Path(path)
    root = source_checkout()
    return root / "weights" if root else user_cache_dir() / "weights"


def samples_dir(path: str | os.PathLike | None = None) -> Path:
    """Folder holding the sample group photos."""
    if path is not None:
        return Path(path)
    if os.environ.get("FACEAPI_NP_SAMPLES"):
        return Path(os.environ["FACEAPI_NP_SAMPLES"])
    root = source_checkout()
    return root / "tests" / "data" / "samples" if root else user_cache_dir() / "samples"


def weights_checksum_file() -> Path:
    """The committed sha256 list of the weight files (``weights/SHA256SUMS``).

    In a source checkout it is read where it is committed; an installed wheel carries a
    copy that ``setup.py`` puts into ``faceapi_np/data/`` at build time.
    """
    root = source_checkout()
    return root / "weights" / "SHA256SUMS" if root else DATA_DIR / "weights.sha256"
