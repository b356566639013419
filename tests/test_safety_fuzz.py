"""Seeded fuzzing: random mutations of images, manifests, shards and galleries.

Each test mutates a valid input at random (bit flips, cuts, spliced bytes, JSON values
swapped for hostile ones: NaN, huge numbers, wrong types, ``../`` paths, deep nesting)
and asserts that what comes out is either a valid result or a FaceApiError, never any
other exception. Each test runs for a bounded time, ``FACEAPI_NP_FUZZ_SECONDS`` (20 s by
default) split over the four of them, with a fixed seed, so a failure names the seed and
the iteration that reproduces it.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image
from test_loader import MODEL, toy_groups, write_model

import faceapi_np as fa
from faceapi_np.errors import FaceApiError
from faceapi_np.loader import load_weight_map, manifest_name
from faceapi_np.matching import FaceMatcher, LabeledFaceDescriptors

SECONDS = float(os.environ.get("FACEAPI_NP_FUZZ_SECONDS", "20")) / 4
SEED = int(os.environ.get("FACEAPI_NP_FUZZ_SEED", "12"))

#: Values a hostile JSON file might hold where a number, string or list belongs.
HOSTILE = [
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    -1,
    0,
    2**63,
    10**30,
    True,
    None,
    "",
    "x",
    "../outside",
    "/etc/passwd",
    "/dev/zero",
    [],
    {},
    [1, 2],
    [[[[[]]]]],
    {"scale": True},
    "float32",
    "uint8",
    0.5,
]


def rounds(seed: int):
    """Yield (iteration, rng) until the time share of this test is spent."""
    rng = np.random.default_rng(seed)
    end, i = time.monotonic() + SECONDS, 0
    while time.monotonic() < end and i < 100_000:
        yield i, rng
        i += 1
    assert i > 0, "the fuzz loop did not run"


def mutate_bytes(data: bytes, rng) -> bytes:
    """One random byte-level mutation: flips, a cut, a splice, or a repeat."""
    b = bytearray(data)
    kind = rng.integers(5)
    if kind == 0 and b:  # flip a few bits
        for _ in range(rng.integers(1, 8)):
            b[rng.integers(len(b))] ^= 1 << rng.integers(8)
    elif kind == 1:  # cut
        b = b[: rng.integers(len(b) + 1)]
    elif kind == 2:  # splice random bytes in
        at = rng.integers(len(b) + 1)
        b[at:at] = rng.bytes(int(rng.integers(1, 64)))
    elif kind == 3 and b:  # repeat a slice
        lo = rng.integers(len(b))
        hi = min(len(b), lo + rng.integers(1, 256))
        b[lo:lo] = b[lo:hi] * int(rng.integers(1, 4))
    else:  # overwrite a random run with one byte value
        lo = rng.integers(len(b) + 1)
        b[lo : lo + 16] = bytes([int(rng.integers(256))]) * 16
    return bytes(b)


def mutate_json(obj, rng, depth: int = 0):
    """A copy of ``obj`` with one random node replaced, removed or duplicated."""
    if isinstance(obj, (list, dict)) and obj and (depth < 6 and rng.random() < 0.8):
        keys = list(range(len(obj))) if isinstance(obj, list) else list(obj)
        key = keys[rng.integers(len(keys))]
        out = list(obj) if isinstance(obj, list) else dict(obj)
        choice = rng.random()
        if choice < 0.1:
            del out[key]
        elif choice < 0.15 and isinstance(out, list):
            out.append(out[key])
        else:
            out[key] = mutate_json(obj[key], rng, depth + 1)
        return out
    return HOSTILE[rng.integers(len(HOSTILE))]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))


def check_faces(faces) -> None:
    for f in faces:
        box = f.box
        assert np.isfinite([box.x, box.y, box.width, box.height]).all(), box
        assert 0 <= f.score <= 1


def test_fuzz_images(weights_dir, samples_dir):
    photo = Image.open(samples_dir / "sample1.jpg").convert("RGB").resize((96, 64))
    seeds = []
    for fmt in ("PNG", "JPEG", "GIF", "BMP"):
        buf = io.BytesIO()
        photo.save(buf, format=fmt)
        seeds.append(buf.getvalue())
    tiny = fa.TinyFaceDetectorOptions(input_size=128)
    for i, rng in rounds(SEED):
        kind = rng.integers(4)
        try:
            if kind == 0:  # a mutated file
                src = mutate_bytes(seeds[rng.integers(len(seeds))], rng)
            elif kind == 1:  # a header declaring any size
                src = png_claiming(int(rng.integers(1, 2**31)), int(rng.integers(1, 2**31)))
            else:  # an array of an extreme shape or odd values
                h, w = (int(v) for v in 2 ** rng.uniform(0, 11.5, size=2))
                dtype = [np.uint8, np.float32, np.float64][rng.integers(3)]
                src = (rng.random((h, w, 3)) * rng.choice([1, 255, 300])).astype(dtype)
                if dtype != np.uint8 and rng.random() < 0.3:
                    src.flat[rng.integers(src.size)] = rng.choice([np.nan, np.inf, -1.0])
            img = fa.load_image(src)
            assert img.ndim == 3 and img.shape[2] == 3
            if kind >= 2 or rng.random() < 0.2:  # detection on a share of them (slower)
                check_faces(fa.detect_all_faces(img, tiny))
        except FaceApiError:
            pass
        except Exception as exc:  # noqa: BLE001 - exactly what the fuzz looks for
            pytest.fail(f"seed {SEED}, iteration {i} (kind {kind}): {type(exc).__name__}: {exc}")


@pytest.fixture
def toy_model(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (tmp_path / "outside").write_bytes(b"\0" * 4096)
    write_model(folder, toy_groups())
    manifest = json.loads((folder / manifest_name(MODEL)).read_text())
    shards = {p.name: p.read_bytes() for p in folder.iterdir() if "shard" in p.name}
    return folder, manifest, shards


def _load_and_check(folder) -> None:
    try:
        weights = load_weight_map(folder, MODEL)
    except FaceApiError:
        return
    for name, arr in weights.items():
        assert isinstance(name, str) and arr.dtype in (np.float32, np.int32)
        if arr.dtype == np.float32:
            assert np.isfinite(arr).all(), name


def test_fuzz_manifests(toy_model):
    folder, manifest, _ = toy_model
    path = folder / manifest_name(MODEL)
    for i, rng in rounds(SEED + 1):
        mutated = mutate_json(manifest, rng)
        text = json.dumps(mutated)
        if rng.random() < 0.2:
            text = mutate_bytes(text.encode(), rng).decode("latin-1")
        path.write_text(text, encoding="latin-1")
        try:
            _load_and_check(folder)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(
                f"seed {SEED + 1}, iteration {i}: {type(exc).__name__}: {exc}\n{text[:300]}"
            )


def test_fuzz_shards(toy_model):
    folder, _, shards = toy_model
    names = sorted(shards)
    for i, rng in rounds(SEED + 2):
        for name in names:  # restore, then damage one or two
            (folder / name).write_bytes(shards[name])
        for _ in range(rng.integers(1, 3)):
            name = names[rng.integers(len(names))]
            (folder / name).write_bytes(mutate_bytes((folder / name).read_bytes(), rng))
        try:
            _load_and_check(folder)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"seed {SEED + 2}, iteration {i}: {type(exc).__name__}: {exc}")


def test_fuzz_galleries(tmp_path):
    rng0 = np.random.default_rng(SEED + 3)
    gallery = FaceMatcher(
        [
            LabeledFaceDescriptors(name, list(rng0.standard_normal((2, 128)).astype(np.float32)))
            for name in ("ann", "bea", "cy")
        ]
    ).to_json()
    path = tmp_path / "gallery.json"
    query = rng0.standard_normal(128).astype(np.float32)
    for i, rng in rounds(SEED + 3):
        text = json.dumps(mutate_json(gallery, rng))
        if rng.random() < 0.3:
            text = mutate_bytes(text.encode(), rng).decode("latin-1")
        if rng.random() < 0.05:
            depth = int(rng.integers(100, 100_000))
            text = "[" * depth + "]" * depth
        path.write_text(text, encoding="latin-1")
        try:
            matcher = FaceMatcher.load(path)
            match = matcher.find_best_match(query)
            assert isinstance(match.label, str) and match.distance >= 0
        except FaceApiError:
            pass
        except Exception as exc:  # noqa: BLE001
            pytest.fail(
                f"seed {SEED + 3}, iteration {i}: {type(exc).__name__}: {exc}\n{text[:300]}"
            )
