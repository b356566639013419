"""Both detectors against the real face-api.js 0.22.2, case by case.

Each golden file (tests/goldens/, made by tests/goldens/make_goldens.py with
../shared/reference) holds the input's recipe and checksum, face-api.js's detections and,
for some cases, its raw network outputs before NMS. Targets: raw outputs within 1e-4
relative (max abs difference over max abs value), boxes within 0.5 px, scores within 1e-4,
and the same number of faces in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import golden_cases, load_golden
from inputs import array_sha256, decode_array, make_input

from faceapi_np import SsdMobilenetv1Options, TinyFaceDetectorOptions
from faceapi_np.image import to_batch

RAW_RTOL = 1e-4
BOX_PX = 0.5
SCORE_ATOL = 1e-4


def _input(case: dict, samples_dir):
    img = make_input(case["input_spec"], samples_dir)
    assert array_sha256(img) == case["input_sha256"], "not the pixels face-api.js saw"
    return img


def _relative_error(got, want) -> float:
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())


def _assert_detections(faces, want, img):
    assert len(faces) == len(want), f"{len(faces)} faces, face-api.js found {len(want)}"
    for face, ref in zip(faces, want):
        for key in ("x", "y", "width", "height"):
            assert getattr(face.box, key) == pytest.approx(ref["box"][key], abs=BOX_PX), key
        assert face.score == pytest.approx(ref["score"], abs=SCORE_ATOL)
        assert face.image_size == (img.shape[1], img.shape[0])


@pytest.mark.parametrize("name", golden_cases("ssd_"))
def test_ssd_matches_faceapi_js(name, ssd, bk, samples_dir):
    case = load_golden(name)
    img = _input(case, samples_dir)
    opts = SsdMobilenetv1Options(case["options"]["minConfidence"], case["options"]["maxResults"])
    faces = ssd.locate_faces(img, opts, bk)
    _assert_detections(faces, case["detections"], img)
    if "raw" in case:
        boxes, scores = ssd.forward(to_batch([img], 512, bk=bk), bk)
        raw = case["raw"]["ssd_forward"]
        assert _relative_error(bk.to_numpy(boxes)[0], decode_array(raw["boxes"])) < RAW_RTOL
        assert _relative_error(bk.to_numpy(scores)[0], decode_array(raw["scores"])) < RAW_RTOL


@pytest.mark.parametrize("name", golden_cases("tiny_"))
def test_tiny_matches_faceapi_js(name, tiny, bk, samples_dir):
    case = load_golden(name)
    img = _input(case, samples_dir)
    opts = TinyFaceDetectorOptions(case["options"]["inputSize"], case["options"]["scoreThreshold"])
    faces = tiny.locate_faces(img, opts, bk)
    _assert_detections(faces, case["detections"], img)
    if "raw" in case:
        grid = tiny.forward(to_batch([img], opts.input_size, bk=bk), bk)
        assert (
            _relative_error(bk.to_numpy(grid), decode_array(case["raw"]["tiny_forward"]["output"]))
            < RAW_RTOL
        )


def test_golden_set_covers_the_issue():
    """The goldens include photos, resized variants and synthetic tensors for both nets."""
    names = set(golden_cases(""))
    for det in ("ssd", "tiny"):
        assert {f"{det}_sample{i}" for i in range(1, 7)} <= names
        assert {f"{det}_{v}" for v in ("tall", "wide", "small", "large", "odd")} <= names
        assert any(n.startswith(f"{det}_synth") for n in names)
