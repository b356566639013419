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
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import numpy as np

from .errors import WeightsError

#: Stored dtype of unquantised entries.
_PLAIN_DTYPES = {"float32": np.float32, "int32": np.int32}
#: Dtype of quantisation codes.
_QUANT_DTYPES = {"uint8": np.uint8, "uint16": np.uint16}
#: Refuse shards larger than this (face-api.js's are at most 4 MB).
_MAX_SHARD_BYTES = 64 * 1024 * 1024


def manifest_name(model_name: str) -> str:
    """File name of a model's manifest, e.g. ``ssd_mobilenetv1_model-weights_manifest.json``."""
    return f"{model_name}-weights_manifest.json"


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name if _is_url(base) else os.path.join(base, name)


def _read(location: str, what: str) -> bytes:
    """Bytes of a local file or URL; a clear WeightsError when it cannot be had."""
    try:
        if _is_url(location):
            with urllib.request.urlopen(location, timeout=60) as resp:
                data = resp.read(_MAX_SHARD_BYTES + 1)
        else:
            with open(location, "rb") as f:
                data = f.read(_MAX_SHARD_BYTES + 1)
    except FileNotFoundError:
        raise WeightsError(f"{what} not found: {location}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WeightsError(f"could not read {what} {location}: {exc}") from None
    if len(data) > _MAX_SHARD_BYTES:
        raise WeightsError(f"{what} {location} is larger than {_MAX_SHARD_BYTES} bytes")
    return data


def resolve_manifest(source: str | os.PathLike, model_name: str) -> tuple[str, str]:
    """(manifest location, folder-or-URL base) for a folder, a manifest path or a URL."""
    src = os.fspath(source)
    if src.endswith(".json"):
        base = src.rsplit("/", 1)[0] if _is_url(src) else os.path.dirname(src)
        return src, base
    return _join(src, manifest_name(model_name)), src


def read_manifest(location: str) -> list:
    """Parse and structurally check a manifest; returns its list of groups."""
    raw = _read(location, "weights manifest")
    try:
        groups = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{location} is not a JSON weights manifest: {exc}") from None
    ok = isinstance(groups, list) and all(
        isinstance(g, dict)
        and isinstance(g.get("paths"), list)
        and isinstance(g.get("weights"), list)
        and all(
            isinstance(w, dict) and {"name", "shape", "dtype"} <= w.keys() for w in g["weights"]
        )
        for g in groups
    )
    if not ok:
        raise WeightsError(
            f"{location} is not a tfjs weights manifest "
            "(expected a list of groups with 'paths' and 'weights')"
        )
    return groups


def _decode_entry(entry: dict, buf: bytes, offset: int, where: str):
    """Decode one manifest entry at ``offset``; returns (array, bytes consumed)."""
    name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise WeightsError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    if dtype not in _PLAIN_DTYPES:
        raise WeightsError(f"{where}: tensor {name!r} has unsupported dtype {dtype!r}")
    count = int(np.prod(shape, dtype=np.int64))
    quant = entry.get("quantization")
    if quant is not None:
        if not isinstance(quant, dict) or not all(
            isinstance(quant.get(k), (int, float)) for k in ("scale", "min")
        ):
            raise WeightsError(
                f"{where}: tensor {name!r} has a malformed quantization {quant!r} "
                "(expected an object with dtype, scale and min)"
            )
        if quant.get("dtype") not in _QUANT_DTYPES:
            raise WeightsError(
                f"{where}: tensor {name!r} has unsupported quantization dtype {quant.get('dtype')!r}"
            )
    store = np.dtype(_QUANT_DTYPES[quant["dtype"]] if quant else _PLAIN_DTYPES[dtype])
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
    return arr.reshape(shape), nbytes


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
        longer than the manifest says.
    """
    location, base = resolve_manifest(source, model_name)
    groups = read_manifest(location)
    weights: dict[str, np.ndarray] = {}
    for gi, group in enumerate(groups):
        parts = [_read(_join(base, p), "weights shard") for p in group["paths"]]
        buf = b"".join(parts)
        where = f"{location} (group {gi}, shards {', '.join(group['paths'])})"
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
