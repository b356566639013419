"""Writing files whole or not at all.

Every file faceapi_np writes (annotated images, JSON galleries, reports, weights) goes
through :func:`atomic_write`: the bytes go to a temporary file in the target's own folder,
are flushed to disk, and only then renamed over the target. A reader therefore sees
either the old file or the new one, never half of one, and a process killed mid-write
leaves the old file untouched. ``os.replace`` is atomic on POSIX and Windows when both
names are on one file system, which a sibling temporary file guarantees.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import OutputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb"):
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` on success.

    Use as ``with atomic_write("out.json", "w") as f: f.write(...)``. On an exception in
    the block the temporary file is removed and ``path`` is left as it was. Errors of the
    file system (missing folder, read-only place, a folder in the way) become
    :class:`~faceapi_np.errors.OutputError` naming the path.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes new files only ('w' or 'wb'), not {mode!r}")
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
        )
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        # mkstemp makes the file private (0600); a written result gets the usual
        # permissions instead, as open() would give it (0666 less the umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w") as f:
        f.write(text)


def save_image(picture, path: str | os.PathLike, format: str | None = None) -> None:
    """Save a PIL image atomically; the format follows the suffix unless ``format`` is given."""
    path = Path(path)
    fmt = format or _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"cannot write {path}: unknown image type {path.suffix!r} (use .png or .jpg)"
        )
    with atomic_write(path, "wb") as f:
        picture.save(f, format=fmt)


_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
