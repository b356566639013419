"""Shared fixtures: the weights and sample photos (fetched once), the backend matrix,
and the golden files made with the real face-api.js (see tests/goldens/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from faceapi_np import SsdMobilenetv1, TinyFaceDetector, samples, weights
from faceapi_np.backend import BACKENDS, get_backend, set_backend
from faceapi_np.errors import BackendError

GOLDENS_DIR = Path(__file__).parent / "goldens"
sys.path.insert(0, str(GOLDENS_DIR))  # tests import goldens/inputs.py as `inputs`


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    """The face-api.js weights, fetched and sha256-checked once per session."""
    return weights.fetch()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The sample group photos, fetched and sha256-checked once per session."""
    return samples.fetch()


@pytest.fixture(scope="session")
def ssd(weights_dir):
    """An SsdMobilenetv1 loaded from the fetched weights."""
    return SsdMobilenetv1().load(weights_dir)


@pytest.fixture(scope="session")
def tiny(weights_dir):
    """A TinyFaceDetector loaded from the fetched weights."""
    return TinyFaceDetector().load(weights_dir)


@pytest.fixture(params=list(BACKENDS))
def bk(request):
    """Each registered backend in turn; one that cannot run here is skipped, saying why."""
    try:
        return get_backend(request.param)
    except BackendError as exc:
        pytest.skip(f"{request.param} backend: {exc}")


@pytest.fixture(autouse=True)
def _reset_backend():
    """No test leaks a set_backend() into the next."""
    yield
    set_backend(None)


def load_golden(name: str) -> dict:
    """One golden file by case name."""
    return json.loads((GOLDENS_DIR / f"{name}.json").read_text())


def golden_cases(prefix: str) -> list[str]:
    """Names of the golden cases whose name starts with ``prefix``, sorted."""
    return sorted(p.stem for p in GOLDENS_DIR.glob(f"{prefix}*.json"))
