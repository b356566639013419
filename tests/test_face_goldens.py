"""Landmarks, descriptors and the whole chain against the real face-api.js 0.22.2.

Golden files (tests/goldens/, see its README) hold face crops and seeded tensors with
face-api.js's landmarks (both nets) and descriptors, raw outputs included, and the whole
``detectAllFaces(...).withFaceLandmarks().withFaceDescriptors()`` chain on the sample
photos. Targets: landmarks within 0.5 px, descriptors within 1e-4 per element, raw
outputs within 1e-4 relative, and identical identity decisions.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import golden_cases, load_golden
from inputs import array_sha256, decode_array, make_input

import faceapi_np as fa
from faceapi_np.image import to_batch

LANDMARK_PX = 0.5
DESCRIPTOR_ATOL = 1e-4
RAW_RTOL = 1e-4
BOX_PX = 0.5
PROB_ATOL = 1e-4
AGE_ATOL = 0.01


@pytest.fixture(scope="module")
def nets(weights_dir):
    return {
        "landmarks68": fa.FaceLandmark68Net().load(weights_dir),
        "landmarks68tiny": fa.FaceLandmark68TinyNet().load(weights_dir),
        "descriptor": fa.FaceRecognitionNet().load(weights_dir),
        "expression": fa.FaceExpressionNet().load(weights_dir),
        "agegender": fa.AgeGenderNet().load(weights_dir),
    }


def _input(case, samples_dir):
    img = make_input(case["input_spec"], samples_dir)
    assert array_sha256(img) == case["input_sha256"], "not the pixels face-api.js saw"
    return img


def _raw(obj):
    return decode_array(obj["output"] if "output" in obj else obj)


def _relative_error(got, want) -> float:
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())


@pytest.mark.parametrize("name", golden_cases("landmarks68"))
def test_landmarks_match_faceapi_js(name, nets, bk, samples_dir):
    case = load_golden(name)
    task = case["task"]
    net = nets[task]
    img = _input(case, samples_dir)
    raw = bk.to_numpy(net.forward(to_batch([img], 112, center=True, bk=bk), bk))
    assert _relative_error(raw, _raw(case["raw"][f"{task}_runNet"])) < RAW_RTOL
    rel = net.detect_landmarks([img], bk)[0]
    want = case["landmarks"]
    assert (want["imageWidth"], want["imageHeight"]) == (img.shape[1], img.shape[0])
    lm = fa.FaceLandmarks68(rel, (img.shape[1], img.shape[0]))
    np.testing.assert_allclose(lm.positions, want["positions"], atol=LANDMARK_PX, rtol=0)
    np.testing.assert_allclose(
        lm.relative_positions.ravel(),
        _raw(case["raw"][f"{task}_forward"]).ravel(),
        atol=1e-4,
        rtol=0,
    )


@pytest.mark.parametrize("name", golden_cases("descriptor_"))
def test_descriptor_matches_faceapi_js(name, nets, bk, samples_dir):
    case = load_golden(name)
    img = _input(case, samples_dir)
    got = nets["descriptor"].compute_face_descriptors([img], bk)[0]
    want = np.asarray(case["descriptor"])
    assert got.shape == (128,) and got.dtype == np.float32
    assert np.abs(got - want).max() < DESCRIPTOR_ATOL
    assert _relative_error(got, _raw(case["raw"]["descriptor_forward"])[0]) < RAW_RTOL


@pytest.mark.parametrize("name", golden_cases("expression_"))
def test_expressions_match_faceapi_js(name, nets, bk, samples_dir):
    case = load_golden(name)
    img = _input(case, samples_dir)
    net = nets["expression"]
    logits = bk.to_numpy(net.forward(to_batch([img], 112, center=True, bk=bk), bk))
    assert _relative_error(logits, _raw(case["raw"]["expression_runNet"])) < RAW_RTOL
    got = net.predict_expressions([img], bk)[0]
    assert list(got) == list(case["expressions"])  # same 7 names, same order
    for k, v in case["expressions"].items():
        assert got[k] == pytest.approx(v, abs=PROB_ATOL)


@pytest.mark.parametrize("name", golden_cases("agegender_"))
def test_age_and_gender_match_faceapi_js(name, nets, bk, samples_dir):
    case = load_golden(name)
    img = _input(case, samples_dir)
    got = nets["agegender"].predict_age_and_gender([img], bk)[0]
    assert got["age"] == pytest.approx(case["age"], abs=AGE_ATOL)
    assert got["gender"] == case["gender"]
    assert got["gender_probability"] == pytest.approx(case["genderProbability"], abs=PROB_ATOL)


def _chain(case, samples_dir, bk):
    img = _input(case, samples_dir)
    o = case["options"]
    if case["task"] == "all-ssd":
        opts = fa.SsdMobilenetv1Options(o["minConfidence"], o["maxResults"])
    else:
        opts = fa.TinyFaceDetectorOptions(o["inputSize"], o["scoreThreshold"])
    faces = fa.detect_all_faces(img, opts, backend=bk.name)
    faces = faces.with_face_landmarks(use_tiny=o["tinyLandmarks"], backend=bk.name)
    faces = faces.with_face_expressions(backend=bk.name).with_age_and_gender(backend=bk.name)
    return faces.with_face_descriptors(backend=bk.name)


@pytest.mark.parametrize("name", golden_cases("all_"))
def test_whole_chain_matches_faceapi_js(name, bk, weights_dir, samples_dir):
    case = load_golden(name)
    faces = _chain(case, samples_dir, bk)
    want = case["faces"]
    assert len(faces) == len(want)
    for face, ref in zip(faces, want):
        for key in ("x", "y", "width", "height"):
            assert getattr(face.box, key) == pytest.approx(ref["detection"]["box"][key], abs=BOX_PX)
            assert getattr(face.aligned_rect.box, key) == pytest.approx(
                ref["alignedRect"]["box"][key], abs=BOX_PX
            )
        np.testing.assert_allclose(
            face.landmarks.positions,
            ref["landmarks"]["positions"],
            atol=LANDMARK_PX,
            rtol=0,
        )
        np.testing.assert_allclose(
            face.unshifted_landmarks.positions,
            ref["unshiftedLandmarks"]["positions"],
            atol=LANDMARK_PX,
            rtol=0,
        )
        assert np.abs(face.descriptor - np.asarray(ref["descriptor"])).max() < DESCRIPTOR_ATOL
        for k, v in ref["expressions"].items():
            assert face.expressions[k] == pytest.approx(v, abs=PROB_ATOL)
        assert face.age == pytest.approx(ref["age"], abs=AGE_ATOL)
        assert face.gender == ref["gender"]
        assert face.gender_probability == pytest.approx(ref["genderProbability"], abs=PROB_ATOL)


def test_identity_decisions_match_faceapi_js(bk, weights_dir, samples_dir):
    """A gallery from face-api.js's descriptors of sample1..3 answers sample1..6's faces
    (ours) exactly as it answers face-api.js's own descriptors of them."""
    refs, queries_ours, queries_ref = [], [], []
    for i in range(1, 7):
        case = load_golden(f"all_ssd_sample{i}")
        for j, f in enumerate(case["faces"]):
            if i <= 3:
                refs.append(fa.LabeledFaceDescriptors(f"s{i}f{j}", [f["descriptor"]]))
            queries_ref.append(f["descriptor"])
        queries_ours += [f.descriptor for f in _chain(case, samples_dir, bk)]
    for threshold in (0.4, 0.5, 0.6):
        matcher = fa.FaceMatcher(refs, threshold)
        ours = matcher.find_best_matches(queries_ours)
        theirs = matcher.find_best_matches(queries_ref)
        assert [m.label for m in ours] == [m.label for m in theirs]
        assert max(abs(a.distance - b.distance) for a, b in zip(ours, theirs)) < 1e-4
