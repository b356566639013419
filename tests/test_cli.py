"""The faceapi-np command line: detect (text, JSON, annotated PNG), summary, weights, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import load_golden
from PIL import Image

from faceapi_np import get_backend
from faceapi_np.cli import main


@pytest.fixture(scope="module")
def photo(weights_dir, samples_dir):
    return str(samples_dir / "sample2.jpg")


def test_detect_json_schema_and_numbers(photo, capsys):
    assert main(["detect", photo, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record) == {"image", "width", "height", "backend", "detector", "faces"}
    assert (record["image"], record["width"], record["height"]) == (photo, 1920, 1367)
    assert record["detector"] == "ssd" and record["backend"] == get_backend().name
    want = load_golden("ssd_sample2")["detections"]
    assert len(record["faces"]) == len(want)
    for face, ref in zip(record["faces"], want):
        assert set(face) == {"box", "score"} and set(face["box"]) == {"x", "y", "width", "height"}
        assert face["box"]["y"] == pytest.approx(ref["box"]["y"], abs=0.5)
        assert face["score"] == pytest.approx(ref["score"], abs=1e-4)


def test_detect_tiny_options_reach_the_detector(photo, capsys):
    case = load_golden("tiny_sample3_320")
    sample3 = photo.replace("sample2", "sample3")
    assert main(["detect", sample3, "--json", "--detector", "tiny", "--input-size", "320",
                 "--score-threshold", "0.3"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["detector"] == "tiny"
    assert [round(f["score"], 5) for f in record["faces"]] == [round(d["score"], 5) for d in case["detections"]]


def test_detect_several_images_one_line_each_and_pngs(photo, tmp_path, capsys):
    other = photo.replace("sample2", "sample5")
    assert main(["detect", photo, other, "--json", "--detector", "tiny", "--out", str(tmp_path / "out")]) == 0
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
    proc = subprocess.run([sys.executable, "-m", "faceapi_np", "detect", photo, "--json", "--detector", "tiny"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["width"] == 1920
