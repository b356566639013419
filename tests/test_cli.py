"""The faceapi-np command line: detect (text, JSON, annotated PNG), summary, weights, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import load_golden
from PIL import Image

from faceapi_np import get_backend
from faceapi_np.backend import expected_work
from faceapi_np.cli import main


@pytest.fixture(scope="module")
def photo(weights_dir, samples_dir):
    return str(samples_dir / "sample2.jpg")


def test_detect_json_schema_and_numbers(photo, capsys):
    assert main(["detect", photo, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record) == {"image", "width", "height", "backend", "detector", "faces"}
    assert (record["image"], record["width"], record["height"]) == (photo, 1920, 1367)
    with expected_work(1, "ssd"):  # what 'auto' picks for the command's one photo
        ran = get_backend().name
    assert record["detector"] == "ssd" and record["backend"] == ran
    want = load_golden("ssd_sample2")["detections"]
    assert len(record["faces"]) == len(want)
    for face, ref in zip(record["faces"], want):
        assert set(face) == {"box", "score"} and set(face["box"]) == {
            "x",
            "y",
            "width",
            "height",
        }
        assert face["box"]["y"] == pytest.approx(ref["box"]["y"], abs=0.5)
        assert face["score"] == pytest.approx(ref["score"], abs=1e-4)


def test_detect_tiny_options_reach_the_detector(photo, capsys):
    case = load_golden("tiny_sample3_320")
    sample3 = photo.replace("sample2", "sample3")
    assert (
        main(
            [
                "detect",
                sample3,
                "--json",
                "--detector",
                "tiny",
                "--input-size",
                "320",
                "--score-threshold",
                "0.3",
                "--full-precision",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["detector"] == "tiny"
    assert [round(f["score"], 5) for f in record["faces"]] == [
        round(d["score"], 5) for d in case["detections"]
    ]


def test_detect_several_images_one_line_each_and_pngs(photo, tmp_path, capsys):
    other = photo.replace("sample2", "sample5")
    assert (
        main(
            [
                "detect",
                photo,
                other,
                "--json",
                "--detector",
                "tiny",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(l)["image"] for l in lines] == [photo, other]
    for name in ("sample2.png", "sample5.png"):
        assert Image.open(tmp_path / "out" / name).size[0] == 1920


def test_detect_text_output_and_single_png(photo, tmp_path, capsys):
    out = tmp_path / "a.png"
    assert main(["detect", photo, "--detector", "tiny", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 face " in text and "score 0." in text and str(out) in text
    assert Image.open(out).size == (1920, 1367)


def test_bad_image_reports_error_and_goes_on(photo, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)
    assert main(["detect", str(bad), photo, "--json", "--detector", "tiny"]) == 1
    first, second = (json.loads(l) for l in capsys.readouterr().out.strip().splitlines())
    assert first["image"] == str(bad) and "not a readable image" in first["error"]
    assert second["faces"]


def test_bad_options_exit_nonzero_with_message(photo, capsys):
    assert main(["detect", photo, "--min-confidence", "1.5"]) == 1
    assert "min_confidence must be a number between 0 and 1" in capsys.readouterr().err
    assert main(["detect", photo, "--backend", "nosuch"]) == 1
    assert "unknown backend 'nosuch'" in capsys.readouterr().err


def test_summary_command(weights_dir, capsys):
    assert main(["summary", "tiny", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["net"] == "TinyFaceDetector" and s["total_params"] == 193_321
    assert main(["summary", "ssd"]) == 0
    assert "3,143,007,488" in capsys.readouterr().out
    assert main(["summary", "nosuch"]) == 2


def test_weights_verify_command(weights_dir, capsys):
    assert main(["weights", "verify", "--dir", str(weights_dir)]) == 0
    assert main(["weights", "fetch", "--dir", str(weights_dir)]) == 0
    assert "18 files" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli(photo):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "faceapi_np",
            "detect",
            photo,
            "--json",
            "--detector",
            "tiny",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout)["width"] == 1920


def test_detect_with_landmarks_and_descriptors(photo, capsys):
    case = load_golden("all_ssd_sample2")
    assert main(["detect", photo, "--json", "--landmarks", "--descriptors"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["faces"]) == len(case["faces"])
    for face, ref in zip(record["faces"], case["faces"]):
        assert set(face) == {"box", "score", "landmarks", "descriptor"}
        assert len(face["landmarks"]) == 68 and len(face["descriptor"]) == 128
        assert face["landmarks"][30][0] == pytest.approx(
            ref["landmarks"]["positions"][30][0], abs=0.5
        )
        assert face["descriptor"][:5] == pytest.approx(ref["descriptor"][:5], abs=1e-4)


def test_enroll_and_identify(weights_dir, samples_dir, tmp_path, capsys):
    """Enroll two people from crops of sample1, then identify sample1's faces."""
    from faceapi_np import detect_all_faces

    faces = detect_all_faces(samples_dir / "sample1.jpg")
    img = Image.open(samples_dir / "sample1.jpg")
    crops = []
    for k, f in enumerate(faces[:2]):
        b = f.box
        path = tmp_path / f"person{k}.png"
        img.crop(
            (
                int(b.x - b.width),
                int(b.y - b.height),
                int(b.right + b.width),
                int(b.bottom + b.height),
            )
        ).save(path)
        crops.append(path)
    db = tmp_path / "gallery.json"
    assert main(["enroll", "--label", "ann", str(crops[0]), "--db", str(db)]) == 0
    assert main(["enroll", "--label", "bea", str(crops[1]), "--db", str(db)]) == 0
    gallery = json.loads(db.read_text())
    assert gallery["distanceThreshold"] == 0.6
    assert [ld["label"] for ld in gallery["labeledDescriptors"]] == ["ann", "bea"]
    capsys.readouterr()
    out = tmp_path / "labelled.png"
    assert (
        main(
            [
                "identify",
                str(samples_dir / "sample1.jpg"),
                "--db",
                str(db),
                "--json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    labels = [f["label"] for f in record["faces"]]
    assert labels[:2] == ["ann", "bea"] and labels[2] == "unknown"
    assert (
        all(f["distance"] < 0.6 for f in record["faces"][:2])
        and record["faces"][2]["distance"] >= 0.6
    )
    assert Image.open(out).size == (1920, 1280)
    # a stricter threshold turns everyone into 'unknown'
    assert (
        main(
            [
                "identify",
                str(samples_dir / "sample1.jpg"),
                "--db",
                str(db),
                "--json",
                "--threshold",
                "0.01",
            ]
        )
        == 0
    )
    assert {f["label"] for f in json.loads(capsys.readouterr().out)["faces"]} == {"unknown"}


def test_enroll_refuses_images_without_exactly_one_face(photo, tmp_path, capsys):
    db = tmp_path / "g.json"
    assert main(["enroll", "--label", "x", photo, "--db", str(db)]) == 1
    assert "found 3 faces; enroll needs exactly one face" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    assert main(["enroll", "--label", "x", str(blank), "--db", str(db)]) == 1
    assert "found 0 faces" in capsys.readouterr().err
    assert not db.exists()


def test_crops_mode_uses_the_whole_image(weights_dir, samples_dir, tmp_path, capsys):
    case = load_golden("descriptor_crop1")
    from inputs import make_input

    crop = tmp_path / "crop1.npy"
    import numpy as np

    np.save(crop, make_input(case["input_spec"], samples_dir))
    db = tmp_path / "g.json"
    assert main(["enroll", "--crops", "--label", "crop", str(crop), "--db", str(db)]) == 0
    stored = json.loads(db.read_text())["labeledDescriptors"][0]["descriptors"][0]
    assert stored == pytest.approx(case["descriptor"], abs=1e-4)
    capsys.readouterr()
    assert main(["identify", "--crops", str(crop), "--db", str(db), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    h, w = case["input_shape"][:2]
    assert record["faces"][0]["box"] == {"x": 0.0, "y": 0.0, "width": w, "height": h}
    assert record["faces"][0]["label"] == "crop" and record["faces"][0]["distance"] < 1e-6


def test_identify_with_bad_gallery(photo, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["identify", photo, "--db", str(bad)]) == 1
    assert "is not a JSON gallery" in capsys.readouterr().err
    assert main(["identify", photo, "--db", str(tmp_path / "missing.json")]) == 1
    assert "no such gallery file" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"distanceThreshold": 0.6, "labeledDescriptors": []}))
    assert main(["identify", photo, "--db", str(empty)]) == 1
    assert "gallery is empty" in capsys.readouterr().err


def test_detect_with_expressions_and_age_gender(photo, capsys):
    case = load_golden("all_ssd_sample2")
    assert main(["detect", photo, "--json", "--landmarks", "--expressions", "--age-gender"]) == 0
    record = json.loads(capsys.readouterr().out)
    for face, ref in zip(record["faces"], case["faces"]):
        assert set(face) >= {"expressions", "age", "gender", "gender_probability"}
        assert list(face["expressions"]) == [
            "neutral",
            "happy",
            "sad",
            "angry",
            "fearful",
            "disgusted",
            "surprised",
        ]
        assert face["expressions"]["happy"] == pytest.approx(ref["expressions"]["happy"], abs=1e-4)
        assert face["age"] == pytest.approx(ref["age"], abs=0.01)
        assert face["gender"] == ref["gender"]


def test_detect_with_mtcnn(weights_dir, samples_dir, tmp_path, capsys):
    import numpy as np
    from inputs import make_input

    case = load_golden("mtcnn_sample1")
    path = tmp_path / "s1.npy"
    np.save(path, make_input(case["input_spec"], samples_dir))
    assert main(["detect", str(path), "--json", "--detector", "mtcnn"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["detector"] == "mtcnn" and len(record["faces"]) == len(case["detections"])
    for face, ref, pts in zip(record["faces"], case["detections"], case["points5"]):
        assert face["box"]["x"] == pytest.approx(ref["box"]["x"], abs=0.5)
        assert np.allclose(face["landmarks5"], pts, atol=0.5)
    assert main(["detect", str(path), "--detector", "mtcnn", "--min-face-size", "2000"]) == 1
    assert "smaller than MtcnnOptions.min_face_size" in capsys.readouterr().err


def test_a_folder_stands_for_its_images(weights_dir, samples_dir, tmp_path, capsys):
    import shutil

    for name in ("sample2.jpg", "sample1.jpg"):
        shutil.copy(samples_dir / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    assert main(["detect", str(tmp_path), "--json", "--detector", "tiny"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(l)["image"] for l in lines] == [
        str(tmp_path / "sample1.jpg"),
        str(tmp_path / "sample2.jpg"),
    ]


def test_no_exif_keeps_the_stored_orientation(weights_dir, tmp_path, capsys):
    """EXIF orientation 6 (rotate 90°): applied by default, kept as stored with --no-exif."""
    img = Image.new("RGB", (60, 40), (120, 90, 60))
    exif = img.getexif()
    exif[274] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    assert main(["detect", str(path), "--json", "--detector", "tiny"]) == 0
    upright = json.loads(capsys.readouterr().out)
    assert main(["detect", str(path), "--json", "--detector", "tiny", "--no-exif"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert (upright["width"], upright["height"]) == (40, 60)
    assert (stored["width"], stored["height"]) == (60, 40)
