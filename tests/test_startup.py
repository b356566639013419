"""Startup: where the compiled kernels are kept, warm-up, and what 'auto' picks.

Nothing here is timed (``faceapi-np bench --startup`` measures); the tests check where
files go, what a fresh process has to compile, and which backend the rule chooses.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faceapi_np
from faceapi_np import backend
from faceapi_np.backend import expected_work, numba_cache

PACKAGE = Path(faceapi_np.__file__).resolve().parent
NOTICE = "compiling numba kernels (first run only"


def _python(code: str, env: dict, *args, cwd=None) -> subprocess.CompletedProcess:
    """Run ``code`` (with ``args`` in ``sys.argv[1:]``) in a fresh interpreter, ``env``
    added to this one's environment."""
    dropped = ("NUMBA_CACHE_DIR", "FACEAPI_NP_QUIET", "FACEAPI_NP_BACKEND")
    full = {k: v for k, v in os.environ.items() if k not in dropped} | env
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# -- where the compiled kernels go -------------------------------------------------------


def test_cache_folder_order(monkeypatch, tmp_path):
    """NUMBA_CACHE_DIR (the user's own), then FACEAPI_NP_CACHE, then XDG, then ~/.cache."""
    for var in ("NUMBA_CACHE_DIR", "FACEAPI_NP_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert numba_cache.cache_root() == tmp_path / "home" / ".cache" / "faceapi_np" / "numba"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert numba_cache.cache_root() == tmp_path / "xdg" / "faceapi_np" / "numba"
    monkeypatch.setenv("FACEAPI_NP_CACHE", str(tmp_path / "mine"))
    assert numba_cache.cache_root() == tmp_path / "mine" / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert numba_cache.cache_root() == tmp_path / "numba"


def test_one_cache_folder_per_installed_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("FACEAPI_NP_CACHE", str(tmp_path))
    folder = numba_cache.cache_dir()
    assert folder.parent == tmp_path / "numba"
    assert folder.name.startswith(numba_cache.kernels_dir().name + "_")
    assert (numba_cache.kernels_dir() / "conv2d.py").is_file()


def test_compile_estimate_is_the_newest_compile_recorded(monkeypatch, tmp_path):
    """The folder keeps a marker for every version of the kernels compiled in it: the
    estimate is the newest that compiled (not a load from numba's cache), else the
    default."""
    import json
    import os

    monkeypatch.setattr(numba_cache, "compiled_dir", lambda: tmp_path)
    assert numba_cache.compile_estimate() == numba_cache.COMPILE_ESTIMATE_S
    for i, seconds in enumerate((155.2, 81.0, 0.4)):  # oldest first; the last only loaded
        path = tmp_path / f"faceapi_np-compiled-{i}-cpu.json"
        path.write_text(json.dumps({"compile_seconds": seconds}))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "faceapi_np-compiled-bad-cpu.json").write_text("{not json")
    assert numba_cache.compile_estimate() == 81.0


def test_kernels_cache_in_the_user_folder_not_the_package(tmp_path):
    """The kernels' compiled code goes to FACEAPI_NP_CACHE, the package folder is untouched."""
    pytest.importorskip("numba")
    code = (
        "from faceapi_np.backend import numba_backend, numba_cache\n"
        "from faceapi_np.kernels.numba import conv2d, depthwise\n"
        "print(conv2d.conv2d._cache.cache_path)\n"
        "print(depthwise.depthwise_conv2d._cache.cache_path)\n"
        "print(numba_cache.cache_dir())\n"
    )
    out = _python(code, {"FACEAPI_NP_CACHE": str(tmp_path)}).stdout.split()
    assert out[0] == out[1] == out[2]
    assert Path(out[0]).is_relative_to(tmp_path)
    assert not Path(out[0]).is_relative_to(PACKAGE.parent)


def test_a_change_to_any_kernel_file_recompiles_every_kernel(tmp_path):
    """A kernel inlines code of other kernel files (every conv has gemm.py's product), so
    the compiled code of each is stamped with all their contents, not with its own file's
    time and size alone: editing gemm.py must not leave conv2d.py's kernels stale."""
    pytest.importorskip("numba")
    code = (
        "from faceapi_np.backend import numba_backend, numba_cache\n"
        "from faceapi_np.kernels.numba import conv2d, gemm\n"
        "impl = conv2d.conv2d._cache._impl\n"
        "print(impl.locator.get_source_stamp() == numba_cache._sources_digest())\n"
        "print(type(impl.locator).__name__)\n"
    )
    out = _python(code, {"FACEAPI_NP_CACHE": str(tmp_path)}).stdout.split()
    assert out == ["True", "KernelCacheLocator"]
    from faceapi_np.backend import numba_cache

    digest = numba_cache._sources_digest()
    names = {p.name for p in numba_cache.kernels_dir().glob("*.py")}
    assert {"gemm.py", "block_ir.py", "conv2d.py", "epilogue.py"} <= names
    assert len(digest) == 64


def test_numba_cache_dir_of_the_user_is_respected(tmp_path):
    pytest.importorskip("numba")
    code = (
        "from faceapi_np.backend import numba_backend, numba_cache\n"
        "from faceapi_np.kernels.numba import pool\n"
        "print(pool.pool2d._cache.cache_path)\n"
        "print(numba_cache.compiled_dir())\n"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "nb"), "FACEAPI_NP_CACHE": str(tmp_path / "fa")}
    kernel_dir, marker_dir = _python(code, env).stdout.split()
    assert kernel_dir == marker_dir  # the marker sits beside what numba wrote
    assert Path(kernel_dir).is_relative_to(tmp_path / "nb")


def test_unwritable_cache_folder_falls_back_to_numbas_own(tmp_path):
    """A cache folder that cannot be made (here a file is in the way) is not fatal: numba
    caches where it would have without faceapi_np, and the marker goes with it."""
    pytest.importorskip("numba")
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    code = (
        "from faceapi_np.backend import numba_backend, numba_cache\n"
        "from faceapi_np.kernels.numba import conv2d\n"
        "print(conv2d.conv2d._cache.cache_path)\n"
        "print(numba_cache.compiled_dir())\n"
    )
    kernel_dir, marker_dir = _python(code, {"FACEAPI_NP_CACHE": str(blocker)}).stdout.split()
    assert kernel_dir == marker_dir
    assert not Path(kernel_dir).is_relative_to(tmp_path)


def test_read_only_package_folder(tmp_path):
    """An installed copy whose folder cannot be written compiles into the user cache.

    The copy's ``kernels/numba/__pycache__`` is a file, so numba's own choice (beside the
    source) fails even for root, and the whole copy is made read-only.
    """
    pytest.importorskip("numba")
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, site / "faceapi_np", ignore=ignore)
    if not (site / "faceapi_np" / "kernels").is_dir():  # a source tree: kernels/ beside
        shutil.copytree(PACKAGE.parent / "kernels", site / "faceapi_np" / "kernels", ignore=ignore)
    (site / "faceapi_np" / "kernels" / "numba" / "__pycache__").write_text("in the way\n")
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    code = (
        "import sys, numpy as np, faceapi_np\n"
        "assert faceapi_np.__file__.startswith(sys.argv[1])\n"
        "from faceapi_np.backend import numba_backend, numba_cache\n"
        "from faceapi_np.kernels.numba import pool\n"
        "pool.pool2d(np.ones((1, 4, 4, 2), np.float32), 2, 2, 0, 0, 2, 2, True, np.empty((1, 2, 2, 2), np.float32))\n"
        "print(numba_cache.compiled_dir())\n"
    )
    try:
        env = {"FACEAPI_NP_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(site)}
        folder = Path(_python(code, env, site, cwd=tmp_path).stdout.strip())
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert folder.is_relative_to(tmp_path / "cache")
    assert [p.name for p in folder.glob("pool.pool2d-*.nbi")]
    assert list(folder.glob("pool.pool2d-*.nbc"))
    assert (site / "faceapi_np" / "kernels" / "numba" / "__pycache__").is_file()


# -- warm-up -------------------------------------------------------------------------------


def test_after_warmup_a_fresh_process_compiles_nothing(tmp_path, weights_dir, samples_dir):
    """warmup() in a fresh cache compiles (saying so once); a fresh process then finds
    every kernel signature of every net and detector in the cache."""
    pytest.importorskip("numba")
    cache = {"FACEAPI_NP_CACHE": str(tmp_path / "cache")}
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    first = _python(
        "import json\n"
        "from faceapi_np.backend import numba_cache\n"
        "from faceapi_np.warmup import warmup\n"
        "print(json.dumps([numba_cache.compile_maybe_needed(), warmup()]))\n",
        cache | {"FACEAPI_NP_WEIGHTS": str(no_weights)},
    )
    maybe_needed, report = json.loads(first.stdout)
    assert maybe_needed is True
    assert first.stderr.count(NOTICE) == 1
    numba_report = report["numba"]
    assert numba_report["compiled"] > 0
    assert numba_report["loaded"] == 0
    assert "weights" in numba_report["nets_skipped"]  # no weights: kernels compiled anyway
    assert Path(numba_report["cache"]).is_relative_to(tmp_path / "cache")

    photo = samples_dir / "sample1.jpg"
    second = _python(
        "import json, sys, faceapi_np as fa\n"
        "from faceapi_np.backend import numba_cache\n"
        "from faceapi_np.warmup import _kernel_counts, run_nets\n"
        "needed = [numba_cache.compile_maybe_needed(), numba_cache.compile_needed()]\n"
        "bk = fa.get_backend('numba')\n"
        "faces = fa.detect_all_faces(sys.argv[1]).with_face_landmarks().with_face_descriptors()\n"
        "faces = faces.with_face_expressions().with_age_and_gender()\n"
        "nets = run_nets(bk)\n"
        "print(json.dumps([needed, len(faces), nets, _kernel_counts()]))\n",
        cache | {"FACEAPI_NP_WEIGHTS": str(weights_dir)},
        photo,
    )
    needed, faces, nets, (loaded, compiled) = json.loads(second.stdout)
    assert needed == [False, False]
    assert NOTICE not in second.stderr
    assert faces > 0
    assert "mtcnn" in nets and "age_gender" in nets
    assert compiled == 0
    assert 0 < loaded <= numba_report["compiled"]  # each signature used, loaded once


def test_warmup_runs_every_net_of_the_registry():
    from faceapi_np import registry
    from faceapi_np.warmup import FACE_NETS

    assert set(FACE_NETS) == set(registry.net_names("face"))
    for name, method in FACE_NETS.items():
        assert callable(getattr(registry.NETS[name], method))


def test_marker_key_names_what_the_compiled_code_depends_on():
    pytest.importorskip("numba")
    import numba

    key = numba_cache.compile_key()
    assert key["numba"] == numba.__version__
    assert key["python"].startswith(sys.implementation.cache_tag)
    assert len(key["kernels"]) == 64 and key["cpu"]
    other = key | {"kernels": "0" * 64}
    assert numba_cache.marker_path(other) != numba_cache.marker_path(key)
    assert numba_cache.marker_path(key).parent == numba_cache.compiled_dir()


# -- the auto rule -------------------------------------------------------------------------


@pytest.fixture
def nothing_started(monkeypatch):
    """No accelerated backend started in this process, whatever earlier tests did."""
    kept = {k: v for k, v in backend._cache.items() if k not in ("numba", "cupy")}
    monkeypatch.setattr(backend, "_cache", kept)
    monkeypatch.setattr(numba_cache, "compile_maybe_needed", lambda: False)


def test_auto_pays_for_numba_only_when_the_work_wins_it_back(nothing_started):
    start = backend.ACCELERATED_START_S
    for detector, saved in backend.SAVED_PER_IMAGE_S.items():
        enough = next(n for n in itertools.count(1) if n * saved > start)  # fewest that win
        with expected_work(enough - 1, detector):
            assert not backend._accelerator_pays_off()
        with expected_work(enough, detector):
            assert backend._accelerator_pays_off()
    assert backend._accelerator_pays_off()  # no work announced: a long-running process


def test_auto_counts_the_compile_when_kernels_are_not_compiled(nothing_started, monkeypatch):
    monkeypatch.setattr(numba_cache, "compile_maybe_needed", lambda: True)
    monkeypatch.setattr(numba_cache, "compile_estimate", lambda: 30.0)
    saved = backend.SAVED_PER_IMAGE_S["ssd"]
    warm_enough = next(n for n in itertools.count(1) if n * saved > backend.ACCELERATED_START_S)
    with expected_work(warm_enough, "ssd"):
        assert not backend._accelerator_pays_off()
    with expected_work(math.ceil((backend.ACCELERATED_START_S + 30.0) / saved) + 1, "ssd"):
        assert backend._accelerator_pays_off()


def test_auto_for_one_photo_is_numpy(nothing_started):
    with expected_work(1, "ssd"):
        assert backend.get_backend("auto").name == "numpy"
        assert backend.get_backend().name == "numpy"
    assert backend._work is None  # the block restored the unknown work


def test_auto_uses_a_backend_already_started(nothing_started):
    pytest.importorskip("numba")
    backend.get_backend("numba")  # started by name, e.g. by an earlier call
    with expected_work(1, "ssd"):
        assert backend.get_backend("auto").name == "numba"


def test_expected_work_nests_and_restores():
    with expected_work(5, "tiny"):
        with expected_work(1, "crops"):
            assert backend._work == (1, "crops")
            with expected_work(None):  # e.g. a video: as many frames as it has
                assert backend._accelerator_pays_off()
            assert backend._work == (1, "crops")
        assert backend._work == (5, "tiny")
    assert backend._work is None


def test_one_photo_with_auto_never_imports_numba(weights_dir, samples_dir):
    """The whole one-photo chain under auto runs on NumPy and leaves numba unimported."""
    code = (
        "import sys, faceapi_np as fa\n"
        "from faceapi_np.backend import expected_work\n"
        "with expected_work(1, 'ssd'):\n"
        "    faces = fa.detect_all_faces(sys.argv[1]).with_face_landmarks().with_face_descriptors()\n"
        "print(faces.backend, len(faces), 'numba' in sys.modules)\n"
    )
    env = {"FACEAPI_NP_WEIGHTS": str(weights_dir)}
    out = _python(code, env, samples_dir / "sample1.jpg").stdout.split()
    name, faces, numba_imported = out
    assert name == "numpy"
    assert int(faces) > 0
    assert numba_imported == "False"


# -- the one-photo path on NumPy -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_numpy_resize_equals_pad_then_resize_bit_for_bit(dtype):
    """The NumPy backend's pad-and-resize gathers only the sampled pixels; the result is
    the two-step reference's (ops.pad_to_square, ops.resize_bilinear) exactly."""
    from faceapi_np.backend.numpy_backend import resize_to_square
    from faceapi_np.ops import pad_to_square, resize_bilinear

    rng = np.random.default_rng(7)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        image = rng.integers(0, 256, (h, w, 3)).astype(dtype)
        if dtype != np.uint8:
            image = image + rng.random((h, w, 3)).astype(dtype)
        for size in (int(rng.integers(1, 70)), max(h, w)):
            for center in (False, True):
                square = pad_to_square(np.asarray(image, np.float32)[None], center=center)
                want = square if square.shape[1] == size else resize_bilinear(square, size, size)
                got = resize_to_square(image, size, center)
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got, want[0])


# -- faceapi-np warmup -------------------------------------------------------------------------


def test_warmup_command_reports_what_it_did(capsys):
    pytest.importorskip("numba")
    from faceapi_np.cli.main import main

    assert main(["warmup", "--no-nets", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["numba"]
    assert report["compiled"] + report["loaded"] > 0
    assert Path(report["cache"]).is_dir()
    assert "nets" not in report and "seconds" in report


def test_warmup_command_fails_for_a_backend_it_cannot_start(capsys):
    from faceapi_np.cli.main import main

    assert main(["warmup", "--backends", "tpu", "--no-nets"]) == 1
    assert "tpu: not warmed: unknown backend 'tpu'" in capsys.readouterr().out
