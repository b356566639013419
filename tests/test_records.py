"""Flat records, JSON rounding and the JSON Schema of ``detect --json`` lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import faceapi_np as fa
from faceapi_np.records import distance_text, float32_exact, round_distance, round_record

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schema" / "detect.schema.json"


def _face(x, score, landmarks5=None, **extra):
    det = fa.FaceDetection(score, fa.Box(x, 20.123456789, 30.5, 40.25), (200, 100), landmarks5)
    return fa.FaceResult(det, **extra)


@pytest.fixture(scope="module")
def chain(weights_dir, samples_dir):
    """sample1's faces with landmarks, descriptors, expressions, age and gender."""
    return (
        fa.detect_all_faces(samples_dir / "sample1.jpg")
        .with_face_landmarks()
        .with_face_expressions()
        .with_age_and_gender()
        .with_face_descriptors()
    )


def test_records_of_a_chain_are_flat_plain_and_complete(chain):
    rows = fa.to_records(chain, image="sample1.jpg")
    assert len(rows) == len(chain) >= 3
    keys = set(rows[0])
    assert all(set(r) == keys for r in rows)  # one column set: a rectangular table
    assert {"image", "face", "x", "y", "width", "height", "score", "age", "gender"} <= keys
    assert {f"descriptor_{i}" for i in range(128)} <= keys
    assert {"landmarks_0_x", "landmarks_67_y"} <= keys and "landmarks_68_x" not in keys
    assert {f"expressions_{e}" for e in fa.EXPRESSIONS} <= keys
    for i, (row, face) in enumerate(zip(rows, chain)):
        assert row["image"] == "sample1.jpg" and row["face"] == i
        assert (row["x"], row["y"], row["width"], row["height"]) == (
            face.box.x,
            face.box.y,
            face.box.width,
            face.box.height,
        )
        assert row["score"] == face.score
        assert row["landmarks_30_y"] == face.landmarks.positions[30, 1]
        assert row["descriptor_5"] == float(face.descriptor[5])
        assert row["expressions_happy"] == face.expressions["happy"]
        for v in row.values():
            assert type(v) in (str, int, float), (v, type(v))
        assert "np." not in repr(face.box) and repr(face.box).startswith("Box(x=")


def test_records_of_many_images_frames_and_single_faces():
    a, b = [_face(1.0, 0.9), _face(50.0, 0.8)], [_face(7.0, 0.7)]
    by_name = fa.to_records({"a.jpg": a, "b.jpg": b})
    assert [(r["image"], r["face"], r["x"]) for r in by_name] == [
        ("a.jpg", 0, 1.0),
        ("a.jpg", 1, 50.0),
        ("b.jpg", 0, 7.0),
    ]
    by_position = fa.to_records([a, [], b])
    assert [(r["image"], r["face"]) for r in by_position] == [(0, 0), (0, 1), (2, 0)]
    frames = [fa.FrameResult(0, 0.0, a), fa.FrameResult(5, 0.5, b)]
    rows = fa.to_records(iter(frames))
    assert [(r["frame"], r["time"], r["face"], r["score"]) for r in rows] == [
        (0, 0.0, 0, 0.9),
        (0, 0.0, 1, 0.8),
        (5, 0.5, 0, 0.7),
    ]
    assert fa.to_records(_face(3.0, 0.5), image="c.jpg")[0]["x"] == 3.0
    assert fa.to_records([]) == []
    pts = np.array([[1.5, 2.5], [3, 4], [5, 6], [7, 8], [9, 10]])
    row = fa.to_records([_face(1.0, 0.9, landmarks5=pts)])[0]
    assert (row["landmarks5_0_x"], row["landmarks5_0_y"], row["landmarks5_4_y"]) == (1.5, 2.5, 10)
    with pytest.raises(TypeError):
        fa.to_records(42)


def test_round_record_rounds_each_kind_of_number_and_keeps_the_rest():
    desc = np.random.default_rng(0).normal(0, 0.1, 128).astype(np.float32)
    face = _face(
        12.3456789,
        np.float32(0.987654321),
        descriptor=desc,
        expressions={"happy": 0.123456789, "sad": 0.876543211},
        age=31.23456,
        gender="female",
        gender_probability=0.99999,
    ).as_dict()
    face |= {"distance": 0.4567891, "label": "ann", "future_key": [1.23456789]}
    record = {"image": "x.jpg", "width": 200, "height": 100, "faces": [face]}
    before = json.dumps(record, default=float)
    out = round_record(record)
    assert json.dumps(record, default=float) == before  # input untouched
    f = out["faces"][0]
    assert f["box"] == {"x": 12.35, "y": 20.12, "width": 30.5, "height": 40.25}
    assert f["score"] == 0.9877 and type(f["score"]) is float
    assert f["expressions"] == {"happy": 0.1235, "sad": 0.8765}
    assert (f["age"], f["gender"], f["gender_probability"]) == (31.23, "female", 1.0)
    assert (f["distance"], f["label"], f["future_key"]) == (0.4568, "ann", [1.23456789])
    # descriptors: float32-exact, and shorter than float64's 17 digits
    assert np.array_equal(np.array(f["descriptor"], np.float32), desc)
    assert max(len(repr(v)) for v in f["descriptor"]) <= 15
    assert out["width"] == 200 and out["image"] == "x.jpg"

    full = round_record(record, full=True)["faces"][0]
    assert full["box"]["x"] == 12.3456789 and full["score"] == float(np.float32(0.987654321))
    assert full["descriptor"] == [float(v) for v in desc]
    assert json.loads(json.dumps(full)) == full  # plain JSON types only


def test_float32_exact_reads_back_bit_for_bit():
    values = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    values[:3] = [np.float32(1e-38), np.float32(3.4e38), np.float32(-0.0)]
    text = json.dumps(float32_exact(values))
    assert np.array_equal(
        np.array(json.loads(text), np.float32).view(np.uint32), values.view(np.uint32)
    )


@pytest.mark.parametrize("threshold", [0.6, 0.55, 0.5])
def test_distances_never_read_as_the_threshold_unless_equal(threshold):
    rng = np.random.default_rng(2)
    distances = np.concatenate([threshold + rng.uniform(-0.01, 0.01, 2000), [threshold]])
    for d in distances.tolist():
        text = distance_text(d, threshold)
        shown = float(text)
        assert (shown == threshold) == (d == threshold), (d, text)
        # the digits shown are the distance's, rounded, and on its side of the threshold
        assert abs(shown - d) <= 0.5 * 10.0 ** -len(text.split(".")[1]) + 1e-12
        assert (shown < threshold) == (d < threshold)
        r = round_distance(d, threshold)
        assert (r == threshold) == (d == threshold) and abs(r - d) <= 5e-5
    assert distance_text(0.608, 0.6) == "0.61"
    assert distance_text(0.5996, 0.6) == "0.5996"
    assert distance_text(0.6004, 0.6) == "0.6004"
    assert distance_text(0.31, 0.6) == "0.31" and round_distance(0.31234567, 0.6) == 0.3123
    assert math.isclose(round_distance(0.59999, 0.6), 0.59999)


def test_detect_json_lines_follow_the_schema(chain):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    h, w = chain.image.shape[:2]
    record = {"image": "sample1.jpg", "width": w, "height": h, "backend": chain.backend}
    record |= {"detector": "ssd", "faces": chain.as_dicts()}
    for line in (round_record(record), round_record(record, full=True)):
        validator.validate(json.loads(json.dumps(line)))
    video = round_record(record | {"frame": 5, "time": 0.5})
    validator.validate(json.loads(json.dumps(video)))
    validator.validate({"image": "missing.jpg", "error": "no such file"})
    bad = json.loads(json.dumps(round_record(record)))
    bad["faces"][0]["descriptor"] = bad["faces"][0]["descriptor"][:127]
    assert not validator.is_valid(bad)
    assert not validator.is_valid({"image": "x.jpg", "faces": []})
