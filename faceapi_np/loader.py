"""Read face-api.js weights: a ``*-weights_manifest.json`` and its binary shards.

The format is tfjs's (``tf.io.loadWeights``, tfjs-core 1.7 ``io/io_utils.ts``): the
manifest is a list of *groups*; each group names its shard files (``paths``, each at most
4 MB) and its tensors (``weights``: name, shape, dtype, optional ``quantization``). A
group's shards, concatenated in order, form one byte stream in which the tensors lie back
to back in manifest order. Quantised tensors store ``uint8`` (or ``uint16``) codes ``q``
and decode as ``q * scale + min``, computed in double and stored as float32 (or rounded
to int32 for int32 graph constants). Every entry is decoded, used or not, because each
one advances the offset.

Weights can come from a folder or an ``http(s)://`` URL; errors name the file and tensor.

A manifest is untrusted input, so the loader reads nothing it does not name and nothing
outside its folder: shard names are plain relative names (no ``..``, no absolute path,
no symlink leading out), only regular files are opened (a FIFO or a device is refused
without blocking), the shards' sizes are compared with the manifest before any byte is
read, every shape and quantisation parameter is checked, and decoded float weights must
be finite. A URL download has one deadline for the whole model (the limit
``download_seconds``), not a per-read timeout that a slow trickle could extend for ever,
and a redirect to another scheme is refused.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from . import limits
from .errors import WeightsError

#: Stored dtype of unquantised entries.
_PLAIN_DTYPES = {"float32": np.float32, "int32": np.int32}
#: Dtype of quantisation codes.
_QUANT_DTYPES = {"uint8": np.uint8, "uint16": np.uint16}
#: Decoded values must fit the tensor's dtype: float32 (kept clear of its maximum, so
#: rounding to float32 never gives infinity) or int32.
_VALUE_RANGE = {"float32": (-1e38, 1e38), "int32": (-(2**31), 2**31 - 1)}
#: Bounds on a manifest's shapes: far above any real net, far below an overflow.
_MAX_RANK = 8
_MAX_DIM = 2**31 - 1
#: A shard name: '/'-separated segments of letters, digits, '_', '-', '.', none starting
#: with '.', so that '..', '.', hidden files, absolute paths and URL syntax are all refused.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def manifest_name(model_name: str) -> str:
    """File name of a model's manifest, e.g. ``ssd_mobilenetv1_model-weights_manifest.json``."""
    return f"{model_name}-weights_manifest.json"


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name if _is_url(base) else os.path.join(base, name)


class _Deadline:
    """One deadline for a whole model download (the limit ``download_seconds``)."""

    def __init__(self):
        self.seconds = limits.get("download_seconds")
        self.end = time.monotonic() + self.seconds

    def left(self, what: str) -> float:
        """Seconds left, or the WeightsError saying the download took too long."""
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise limits.exceeded(
                "download_seconds",
                f"downloading {what} did not finish within {self.seconds:g} s",
                WeightsError,
            )
        return remaining


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme: never https -> http, ftp or file."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old = urllib.parse.urlsplit(req.full_url).scheme
        new = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme
        if new != old:
            raise WeightsError(
                f"{req.full_url} redirects to {newurl}: a redirect to another scheme is refused"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameSchemeRedirects)


def _set_read_timeout(resp, seconds: float) -> None:
    # urlopen's timeout applies to each socket read; lowering it before every read to the
    # time left makes the deadline hold for the whole download, however slow the trickle.
    sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _read_url(url: str, what: str, max_bytes: int, deadline: _Deadline) -> bytes:
    """At most ``max_bytes`` of ``url`` (one more proves it is longer), within the deadline."""
    chunks, total = [], 0
    try:
        with _OPENER.open(url, timeout=deadline.left(what)) as resp:
            length = resp.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                return b"\0" * (max_bytes + 1)  # the caller reports the size mismatch
            while total <= max_bytes:
                _set_read_timeout(resp, deadline.left(what))
                chunk = resp.read1(min(1 << 16, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
    except WeightsError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
            deadline.left(what)  # raises when the time is up, as it is after a timeout
        raise WeightsError(f"could not read {what} {url}: {exc}") from None
    deadline.left(what)
    return b"".join(chunks)


def _regular_file_size(path: str, what: str) -> int:
    """Size of ``path`` if it is a regular file (after symlinks), else a WeightsError."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise WeightsError(f"{what} not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"could not read {what} {path}: {exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise WeightsError(f"{what} {path} is not a regular file")
    return st.st_size


def _read_file(path: str, what: str, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of a regular file; never blocks on a FIFO or device."""
    _regular_file_size(path, what)  # refuse devices and FIFOs before opening them
    try:
        # O_NONBLOCK: should the path turn into a FIFO after the check, open() still returns
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise WeightsError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"could not read {what} {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise WeightsError(f"{what} {path} is not a regular file")
        try:
            return f.read(max_bytes + 1)
        except OSError as exc:
            raise WeightsError(f"could not read {what} {path}: {exc.strerror or exc}") from None


def resolve_manifest(source: str | os.PathLike, model_name: str) -> tuple[str, str]:
    """(manifest location, folder-or-URL base) for a folder, a manifest path or a URL."""
    if not isinstance(source, (str, os.PathLike)):
        raise WeightsError(
            f"weights source must be a folder, a manifest path or a URL, got {type(source).__name__}"
        )
    if not isinstance(model_name, str) or not model_name:
        raise WeightsError(f"model name must be a non-empty string, got {model_name!r}")
    src = os.fspath(source)
    if not isinstance(src, str):
        src = os.fsdecode(src)
    if src.endswith(".json"):
        base = src.rsplit("/", 1)[0] if _is_url(src) else os.path.dirname(src) or "."
        return src, base
    return _join(src, manifest_name(model_name)), src


def read_manifest(location: str, deadline: _Deadline | None = None) -> list:
    """Parse and structurally check a manifest; returns its list of groups."""
    cap = limits.get("max_weights_bytes")
    if _is_url(location):
        raw = _read_url(location, "weights manifest", cap, deadline or _Deadline())
    else:
        raw = _read_file(location, "weights manifest", cap)
    if len(raw) > cap:
        raise limits.exceeded(
            "max_weights_bytes", f"weights manifest {location} is too large", WeightsError
        )
    try:
        groups = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise WeightsError(f"{location} is not a JSON weights manifest: {reason}") from None
    ok = isinstance(groups, list) and all(
        isinstance(g, dict)
        and isinstance(g.get("paths"), list)
        and all(isinstance(p, str) for p in g["paths"])
        and isinstance(g.get("weights"), list)
        and all(
            isinstance(w, dict) and {"name", "shape", "dtype"} <= w.keys() for w in g["weights"]
        )
        for g in groups
    )
    if not ok:
        raise WeightsError(
            f"{location} is not a tfjs weights manifest "
            "(expected a list of groups with 'paths' (file names) and 'weights')"
        )
    return groups


def _is_number(v) -> bool:
    """A finite JSON number (not a bool, not an integer too large for a float)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer of hundreds of digits
        return False


def _check_entry(entry: dict, where: str) -> tuple[int, np.dtype]:
    """(element count, stored dtype) of a manifest entry, after checking every field."""
    name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
    if not isinstance(name, str) or not name:
        raise WeightsError(f"{where}: tensor name {name!r} is not a non-empty string")
    if not (
        isinstance(shape, list)
        and len(shape) <= _MAX_RANK
        and all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= _MAX_DIM for d in shape
        )
    ):
        raise WeightsError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    if not isinstance(dtype, str) or dtype not in _PLAIN_DTYPES:
        raise WeightsError(f"{where}: tensor {name!r} has unsupported dtype {dtype!r}")
    count = 1
    for d in shape:  # Python ints: no overflow, whatever the manifest says
        count *= d
    quant = entry.get("quantization")
    if quant is None:
        return count, np.dtype(_PLAIN_DTYPES[dtype])
    if not isinstance(quant, dict) or not all(_is_number(quant.get(k)) for k in ("scale", "min")):
        raise WeightsError(
            f"{where}: tensor {name!r} has a malformed quantization {quant!r} "
            "(expected an object with dtype, and finite numbers scale and min)"
        )
    qdtype = quant.get("dtype")
    if not isinstance(qdtype, str) or qdtype not in _QUANT_DTYPES:
        raise WeightsError(
            f"{where}: tensor {name!r} has unsupported quantization dtype {qdtype!r}"
        )
    store = np.dtype(_QUANT_DTYPES[qdtype])
    lo, hi = float(quant["min"]), float(quant["min"]) + float(quant["scale"]) * np.iinfo(store).max
    low, high = _VALUE_RANGE[dtype]
    if quant["scale"] < 0 or not (low <= lo and hi <= high):
        raise WeightsError(
            f"{where}: tensor {name!r} has quantization scale={quant['scale']!r}, "
            f"min={quant['min']!r}, decoding to values outside the {dtype} range"
        )
    return count, store


def _decode_entry(entry: dict, buf: bytes, offset: int, where: str):
    """Decode one manifest entry at ``offset``; returns (array, bytes consumed)."""
    name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
    count, store = _check_entry(entry, where)
    quant = entry.get("quantization")
    nbytes = count * store.itemsize
    if offset + nbytes > len(buf):
        raise WeightsError(
            f"{where}: shard data ends inside tensor {name!r} (needs bytes {offset}..{offset + nbytes}, "
            f"have {len(buf)}): a shard is truncated or belongs to another manifest"
        )
    codes = np.frombuffer(buf, dtype=store.newbyteorder("<"), count=count, offset=offset)
    if quant:
        values = codes.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
        # tfjs rounds int32 constants with Math.round: halves go up, hence floor(v + 0.5)
        arr = (
            np.floor(values + 0.5).astype(np.int32)
            if dtype == "int32"
            else values.astype(np.float32)
        )
    else:
        arr = codes.astype(_PLAIN_DTYPES[dtype])  # copies: the result owns its memory
        if dtype == "float32" and not np.isfinite(arr).all():
            raise WeightsError(f"{where}: tensor {name!r} holds NaN or infinite values")
    return arr.reshape(shape), nbytes


def _shard_location(base: str, name: str, where: str) -> str:
    """Where shard ``name`` lies: inside the manifest's folder (or under its URL), or an error."""
    if not all(_SEGMENT.fullmatch(seg) for seg in name.split("/")):
        raise WeightsError(
            f"{where}: shard path {name!r} is not a plain relative file name (letters, digits, "
            "'_', '-', '.'; no '..', no absolute path): shards must lie beside their manifest"
        )
    location = _join(base, name)
    if not _is_url(base):
        folder = os.path.realpath(base)
        if os.path.commonpath([folder, os.path.realpath(location)]) != folder:
            raise WeightsError(
                f"{where}: shard {name!r} is a link leading outside the weights folder {base}"
            )
    return location


def _group_bytes(group: dict, where: str) -> int:
    """Bytes the manifest says a group's shards hold, after checking each entry."""
    return sum(
        count * store.itemsize
        for count, store in (_check_entry(e, where) for e in group["weights"])
    )


def _read_group(group: dict, base: str, where: str, expected: int, deadline: _Deadline) -> bytes:
    """A group's shards, concatenated; sizes checked against ``expected`` before reading."""
    locations = [_shard_location(base, p, where) for p in group["paths"]]
    if _is_url(base):
        parts, have = [], 0
        for loc in locations:  # one byte more than expected is enough to prove a mismatch
            parts.append(_read_url(loc, "weights shard", expected - have + 1, deadline))
            have += len(parts[-1])
        return b"".join(parts)
    sizes = [_regular_file_size(loc, "weights shard") for loc in locations]
    if sum(sizes) > expected:  # refused before a byte is read
        raise WeightsError(
            f"{where}: the manifest accounts for {expected} bytes but the shards hold "
            f"{sum(sizes)}; the shards do not belong to this manifest"
        )
    return b"".join(_read_file(loc, "weights shard", size) for loc, size in zip(locations, sizes))


def load_weight_map(source: str | os.PathLike, model_name: str) -> dict[str, np.ndarray]:
    """Read a face-api.js model into ``{tensor name: ndarray}``.

    Parameters
    ----------
    source : str or PathLike
        A folder holding ``<model_name>-weights_manifest.json`` and its shards, a path to
        the manifest itself, or an ``http(s)://`` URL of either.
    model_name : str
        Default model name, e.g. ``"ssd_mobilenetv1_model"``.

    Returns
    -------
    dict of str -> ndarray, in manifest order; float32 or int32 arrays.

    Raises
    ------
    WeightsError
        Missing or unreadable files, malformed manifest, unknown dtype, shards shorter or
        longer than the manifest says, a shard outside the manifest's folder, values that
        are not finite, more than the limit ``max_weights_bytes`` or a download slower than
        ``download_seconds``.
    """
    location, base = resolve_manifest(source, model_name)
    deadline = _Deadline()
    groups = read_manifest(location, deadline)
    wheres = [
        f"{location} (group {gi}, shards {', '.join(g['paths'])})" for gi, g in enumerate(groups)
    ]
    # Every entry is checked and every size known before any shard is opened.
    expected = [_group_bytes(g, w) for g, w in zip(groups, wheres)]
    limits.check(
        "max_weights_bytes",
        sum(expected),
        f"the size in bytes of the tensors in {location}",
        WeightsError,
    )
    names = [e["name"] for g in groups for e in g["weights"]]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise WeightsError(f"{location}: tensors named more than once: {twice[:5]}")
    weights: dict[str, np.ndarray] = {}
    for group, where, size in zip(groups, wheres, expected):
        buf = _read_group(group, base, where, size, deadline)
        offset = 0
        for entry in group["weights"]:
            weights[entry["name"]], used = _decode_entry(entry, buf, offset, where)
            offset += used
        if offset != len(buf):
            raise WeightsError(
                f"{where}: the manifest accounts for {offset} bytes but the shards hold {len(buf)}; "
                "the shards do not belong to this manifest"
            )
    return weights
