"""Rebuild the exact input arrays behind the golden files.

Every golden file stores an ``input_spec`` (a small JSON-able dict) and the
``input_sha256`` of the array it describes. :func:`make_input` turns the spec back into
the array, so a test can feed our implementation the very pixels face-api.js saw, and
:func:`array_sha256` lets it assert that it did.

Specs
-----
``{"sample": "sample2.jpg"}``
    the sample photo decoded with :func:`faceapi_np.image.load_image` (uint8 HxWx3).
``{"sample": ..., "crop": [left, top, right, bottom]}``
    then cropped (``a[top:bottom, left:right]``, right/bottom exclusive).
``{"sample": ..., "resize": [W, H]}``
    then resized with Pillow, ``Image.fromarray(a).resize((W, H), Image.BILINEAR)``.
    With both keys the crop comes first.
``{"synthetic": {"seed": 3, "height": 97, "width": 131, "dtype": "float32"}}``
    ``np.random.default_rng(seed).uniform(0, 255, (h, w, 3)).astype(np.float32)``;
    with ``"dtype": "uint8"``: ``rng.integers(0, 256, (h, w, 3), dtype=np.uint8)``.

Raw arrays in the golden files are stored as
``{"dtype": "float32", "shape": [...], "base64": "..."}`` (little-endian, C order);
:func:`decode_array` / :func:`encode_array` convert.

Only NumPy, Pillow and ``faceapi_np.image.load_image`` are used.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np

__all__ = ["make_input", "array_sha256", "encode_array", "decode_array"]

_SAMPLE_KEYS = {"sample", "crop", "resize"}
_SYNTH_KEYS = {"seed", "height", "width", "dtype"}


def make_input(spec: dict, samples_dir: Path) -> np.ndarray:
    """Build the input array described by ``spec`` (see the module docstring)."""
    if "synthetic" in spec:
        if set(spec) != {"synthetic"}:
            raise ValueError(f"a synthetic spec takes no other keys: {spec!r}")
        return _synthetic(spec["synthetic"])
    if "sample" not in spec:
        raise ValueError(f"spec needs 'sample' or 'synthetic': {spec!r}")
    unknown = set(spec) - _SAMPLE_KEYS
    if unknown:
        raise ValueError(f"unknown spec keys {sorted(unknown)} in {spec!r}")

    from faceapi_np.image import load_image

    a = load_image(Path(samples_dir) / spec["sample"])
    if "crop" in spec:
        left, top, right, bottom = (int(v) for v in spec["crop"])
        h, w = a.shape[:2]
        if not (0 <= left < right <= w and 0 <= top < bottom <= h):
            raise ValueError(f"crop {spec['crop']} outside the {w}x{h} image")
        a = np.ascontiguousarray(a[top:bottom, left:right])
    if "resize" in spec:
        from PIL import Image

        width, height = (int(v) for v in spec["resize"])
        a = np.asarray(Image.fromarray(a).resize((width, height), Image.BILINEAR))
        a = np.ascontiguousarray(a, dtype=np.uint8)
    return a


def _synthetic(syn: dict) -> np.ndarray:
    unknown = set(syn) - _SYNTH_KEYS
    if unknown:
        raise ValueError(f"unknown synthetic keys {sorted(unknown)} in {syn!r}")
    rng = np.random.default_rng(int(syn["seed"]))
    shape = (int(syn["height"]), int(syn["width"]), 3)
    dtype = syn.get("dtype", "float32")
    if dtype == "float32":
        return rng.uniform(0, 255, shape).astype(np.float32)
    if dtype == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    raise ValueError(f"synthetic dtype must be 'float32' or 'uint8', got {dtype!r}")


def _little_endian_c(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))


def array_sha256(a: np.ndarray) -> str:
    """sha256 (hex) of ``"<dtype name><shape list>"`` followed by the array's bytes.

    E.g. for a (1367, 1920, 3) uint8 image the digest covers ``b"uint8[1367, 1920, 3]"``
    and then the 7,873,920 pixel bytes in C order (multi-byte dtypes little-endian).
    """
    a = _little_endian_c(a)
    h = hashlib.sha256()
    h.update(f"{a.dtype.name}{list(a.shape)}".encode("ascii"))
    h.update(a.tobytes(order="C"))
    return h.hexdigest()


def encode_array(a: np.ndarray, dtype: str = "float32") -> dict:
    """``{"dtype", "shape", "base64"}`` of ``a`` cast to ``dtype`` (little-endian, C order)."""
    a = _little_endian_c(np.asarray(a).astype(np.dtype(dtype)))
    return {
        "dtype": a.dtype.name,
        "shape": list(a.shape),
        "base64": base64.b64encode(a.tobytes(order="C")).decode("ascii"),
    }


def decode_array(obj: dict) -> np.ndarray:
    """Inverse of :func:`encode_array`: a new, writable, native-order array."""
    dt = np.dtype(obj["dtype"]).newbyteorder("<")
    shape = tuple(int(s) for s in obj["shape"])
    a = np.frombuffer(base64.b64decode(obj["base64"]), dtype=dt)
    if a.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"{a.size} values do not fill shape {list(shape)}")
    return a.reshape(shape).astype(dt.newbyteorder("="))
