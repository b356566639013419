"""The package as a user gets it: the sdist and the wheel built from it.

``python -m build`` makes the sdist and then a wheel from the unpacked sdist, so a file
missing from the sdist (MANIFEST.in) shows up as a failed or incomplete wheel. The build
runs without isolation (the ``test`` extra brings ``build`` and a recent setuptools), so
it needs no network. The wheel is then run from a plain folder with site-packages'
``.pth`` files off, so the editable install of this checkout cannot stand in for it.
CI also installs the sdist into a fresh venv and runs ``faceapi-np summary tiny``.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = "faceapi_np-0.1.0"


def _tools_missing() -> str | None:
    if importlib.util.find_spec("build") is None:
        return "the 'build' package is not installed (pip install -e '.[test]')"
    import setuptools

    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    if (major, minor) < (70, 1):
        return f"setuptools {setuptools.__version__} < 70.1 cannot build without isolation"
    return None


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """``{"sdist": path, "wheel": path}`` built from this checkout."""
    if (reason := _tools_missing()) is not None:
        pytest.skip(reason)
    if not (ROOT / "setup.py").is_file():
        pytest.skip("not a source checkout")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_sdist_carries_what_the_build_and_tests_need(dist):
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.removeprefix(f"{NAME}/") for n in tar.getnames()}
    needed = {
        "LICENSE",
        "README.md",
        "MANIFEST.in",
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "weights/SHA256SUMS",
        "faceapi_np/py.typed",
        "faceapi_np/data/samples.sha256",
        "docs/schema/detect.schema.json",
        "tests/conftest.py",
    }
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "kernels").rglob("*.cu*")}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "goldens").glob("*.json")}
    assert needed - names == set()
    # fetched files never travel: no weights, no sample photos, no caches
    assert not [n for n in names if n.startswith("tests/data/samples") or "__pycache__" in n]
    assert not [n for n in names if n.startswith("weights/") and not n.endswith(("SUMS", ".md"))]


def test_wheel_holds_licence_types_checksums_and_kernels(dist):
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        checksums = whl.read("faceapi_np/data/weights.sha256")
        licences = [n for n in names if n.startswith(f"{NAME}.dist-info/") and "LICENSE" in n]
        assert len(licences) == 1
        licence = whl.read(licences[0]).decode()
        meta = email.parser.Parser().parsestr(whl.read(f"{NAME}.dist-info/METADATA").decode())
    assert "faceapi_np/py.typed" in names
    assert checksums == (ROOT / "weights" / "SHA256SUMS").read_bytes()
    cuda = {f"faceapi_np/kernels/cuda/{p.name}" for p in (ROOT / "kernels" / "cuda").iterdir()}
    assert cuda and cuda <= names
    assert "MIT License" in licence and "Vincent Mühler" in licence
    assert not [n for n in names if n.startswith("tests/")]

    assert meta["Requires-Python"] == ">=3.10"
    classifiers = meta.get_all("Classifier")
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert meta["Author"]
    extras = set(meta.get_all("Provides-Extra"))
    assert {"gpu", "test", "cuda-check", "video"} <= extras
    requires = meta.get_all("Requires-Dist")
    # the 142 MB CUDA compiler comes only with the cuda-check extra, never with test
    nvrtc = [r for r in requires if r.startswith("nvidia-cuda-nvrtc")]
    assert nvrtc and all('extra == "cuda-check"' in r for r in nvrtc)
    core = sorted(r.split(">")[0] for r in requires if "extra ==" not in r)
    assert core == ["numba", "numpy", "pillow"]


def test_wheel_runs_without_the_source_tree(dist, tmp_path, weights_dir):
    """Unpacked wheel + this venv's dependencies, ``-S`` so no ``.pth`` (editable) applies."""
    site = tmp_path / "site"
    with zipfile.ZipFile(dist["wheel"]) as whl:
        whl.extractall(site)
    code = (
        "import sys, faceapi_np, faceapi_np.kernels as k\n"
        "from faceapi_np import paths, weights\n"
        "print(faceapi_np.__file__); print(k.__file__)\n"
        "print(paths.source_checkout(), paths.weights_checksum_file().name)\n"
        "print(len(weights.verify()))\n"
        "from faceapi_np.cli import main\n"
        "sys.exit(main(['summary', 'tiny']))\n"
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    )
    env["FACEAPI_NP_WEIGHTS"] = str(weights_dir)
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert Path(lines[0]).is_relative_to(site) and Path(lines[1]).is_relative_to(site)
    assert lines[2] == "None weights.sha256"  # the packaged copy of weights/SHA256SUMS
    assert lines[3] == "0"  # every fetched weight file matches it
    assert lines[4].startswith("TinyFaceDetector (input 1x416x416x3)")
    assert "total" in lines[-1] and "193,321" in lines[-1]
