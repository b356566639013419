"""The command line's inputs and outputs: --out, standard input, folders, video, JSON
precision, enroll's per-image reports, weights verify, help texts and --quiet."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from faceapi_np.cli import main
from faceapi_np.cli.main import build_parser


@pytest.fixture(scope="module")
def photo(weights_dir, samples_dir):
    return str(samples_dir / "sample2.jpg")


@pytest.fixture
def blanks(tmp_path):
    """Two small grey pictures (no faces: quick to run) in a folder with a subfolder."""
    (tmp_path / "sub").mkdir()
    paths = [tmp_path / "a.png", tmp_path / "sub" / "b.jpg"]
    for p in paths:
        Image.new("RGB", (64, 48), (128, 128, 128)).save(p)
    (tmp_path / "notes.txt").write_text("not an image")
    return paths


TINY = ["--detector", "tiny"]


def test_out_file_with_several_images_is_an_error(photo, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["detect", "--out", str(out), photo, photo, *TINY]) == 1
    err = capsys.readouterr().err
    assert f"--out {out} names one file, but there are 2 inputs" in err
    assert "ending in '/'" in err
    assert not out.exists()  # neither a file nor a folder of that name


def test_out_folder_keeps_names_unique(weights_dir, samples_dir, tmp_path, capsys):
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
        shutil.copy(samples_dir / "sample2.jpg", tmp_path / d / "pic.jpg")
    out = tmp_path / "annotated"
    args = ["detect", str(tmp_path / "one" / "pic.jpg"), str(tmp_path / "two" / "pic.jpg")]
    assert main([*args, "--out", f"{out}/", *TINY]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["pic-2.png", "pic.png"]
    assert Image.open(out / "pic-2.png").size == (1920, 1367)
    one = tmp_path / "single"  # a folder for one image too, when it ends in /
    assert main(["detect", args[1], "--out", f"{one}/", *TINY]) == 0
    assert [p.name for p in one.iterdir()] == ["pic.png"]
    capsys.readouterr()


def test_paths_from_standard_input(blanks, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{blanks[1]}\n\n{blanks[0]}\n"))
    assert main(["detect", "-", "--json", *TINY]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(l)["image"] for l in lines] == [str(blanks[1]), str(blanks[0])]


def test_folders_walked_recursively_only_when_asked(blanks, capsys):
    folder = str(blanks[0].parent)
    assert main(["detect", folder, "--json", *TINY]) == 0
    assert [json.loads(l)["image"] for l in capsys.readouterr().out.splitlines()] == [
        str(blanks[0])
    ]
    assert main(["detect", folder, "--recursive", "--json", *TINY]) == 0
    assert [json.loads(l)["image"] for l in capsys.readouterr().out.splitlines()] == [
        str(blanks[0]),
        str(blanks[1]),
    ]


def test_json_is_rounded_unless_full_precision(photo, capsys):
    assert main(["detect", photo, "--json", "--descriptors", *TINY]) == 0
    short = json.loads(capsys.readouterr().out)
    assert main(["detect", photo, "--json", "--descriptors", "--full-precision", *TINY]) == 0
    full = json.loads(capsys.readouterr().out)
    assert len(short["faces"]) == len(full["faces"]) >= 1
    for s, f in zip(short["faces"], full["faces"]):
        for k in ("x", "y", "width", "height"):
            assert s["box"][k] == round(f["box"][k], 2)
        assert s["score"] == round(f["score"], 4)
        assert np.array_equal(np.float32(s["descriptor"]), np.float32(f["descriptor"]))
    assert any(len(repr(f["box"]["x"])) > 8 for f in full["faces"])


def test_enroll_reports_each_image_and_goes_on(photo, blanks, tmp_path, capsys):
    from faceapi_np import detect_all_faces

    b = detect_all_faces(photo)[0].box  # one face, cut out with a margin
    face = tmp_path / "face.png"
    margin = (int(b.x - 40), int(b.y - 40), int(b.right + 40), int(b.bottom + 40))
    Image.open(photo).convert("RGB").crop(margin).save(face)
    db = tmp_path / "g.json"
    assert main(["enroll", "--label", "ann", "--db", str(db), str(blanks[0]), str(face)]) == 1
    out, err = capsys.readouterr()
    assert f"{blanks[0]}: skipped: found 0 faces" in err
    assert f"{face}: 1 face, box x=" in out and "enrolled 1 face as 'ann'" in out
    from faceapi_np import FaceMatcher

    gallery = FaceMatcher.load(db).labeled_descriptors
    assert [(e.label, len(e.descriptors)) for e in gallery] == [("ann", 1)]


def test_weights_verify_says_what_it_checked(weights_dir, tmp_path, capsys):
    assert main(["weights", "verify", "--dir", str(weights_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(l.split()[0] == "ok" for l in out[:-1]) == 18
    assert out[-1].startswith(f"18 of 18 weight files in {weights_dir} match the sha256 sums")
    copy = tmp_path / "w"
    shutil.copytree(weights_dir, copy)
    (copy / "tiny_face_detector_model-shard1").write_bytes(b"nonsense")
    (copy / "mtcnn_model-shard1").unlink()
    assert main(["weights", "verify", "--dir", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "corrupt  tiny_face_detector_model-shard1" in out
    assert "missing  mtcnn_model-shard1" in out and "16 of 18" in out


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_help_texts_list_every_choice():
    seen = 0
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            if action.choices and not isinstance(action, argparse._SubParsersAction):
                seen += 1
                missing = [c for c in action.choices if str(c) not in (action.help or "")]
                assert not missing, f"{name} {action.dest}: help does not name {missing}"
    assert seen >= 8  # detector, landmarks, alignment (x3 commands), weights, summary, ...


def test_quiet_silences_progress(blanks, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    args = ["detect", str(blanks[0]), str(blanks[1]), *TINY]
    for flags, shown in (([], True), (["--quiet"], False)):
        monkeypatch.setattr(sys, "stderr", Terminal())
        assert main([*args, *flags]) == 0
        assert ("2/2" in sys.stderr.getvalue()) == shown
    capsys.readouterr()


def test_video_every_fifth_frame_one_line_each(weights_dir, samples_dir, tmp_path, capsys):
    from test_video import write_clip

    photo = Image.open(samples_dir / "sample1.jpg").convert("RGB").resize((320, 214))
    base = np.asarray(photo)[:212]
    frames = np.stack([np.roll(base, 3 * t, axis=1) for t in range(12)])
    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames, fps=10)  # skips without the video extra
    assert main(["detect", str(clip), "--every", "5", "--json", *TINY]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [(r["frame"], r["time"]) for r in lines] == [(0, 0.0), (5, 0.5), (10, 1.0)]
    assert all(r["image"] == str(clip) and (r["width"], r["height"]) == (320, 212) for r in lines)
    assert main(["detect", str(clip), "--every", "5", *TINY]) == 0
    assert f"{clip} frame 10 (1.00 s): " in capsys.readouterr().out
    assert main(["detect", str(clip), "--every", "5", "--out", str(tmp_path / "x.png")]) == 1
    assert "a video gives a picture per frame" in capsys.readouterr().err
    out = tmp_path / "frames"
    assert main(["detect", str(clip), "--every", "6", "--out", f"{out}/", *TINY]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["clip-000000.png", "clip-000006.png"]
    capsys.readouterr()
