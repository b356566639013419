"""The high-level API: detect_all_faces / detect_single_face, options, results, drawing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_golden
from PIL import Image

import faceapi_np as fa
from faceapi_np.errors import ImageError, OptionsError


@pytest.fixture(scope="module")
def sample1(weights_dir, samples_dir):
    return samples_dir / "sample1.jpg"


def test_detect_all_faces_defaults_to_ssd_and_matches_faceapi_js(sample1):
    faces = fa.detect_all_faces(sample1)
    want = load_golden("ssd_sample1")["detections"]
    assert isinstance(faces, fa.FaceResults) and len(faces) == len(want)
    assert faces.image.shape == (1280, 1920, 3) and faces.backend == fa.get_backend().name
    for face, ref in zip(faces, want):
        assert face.box.x == pytest.approx(ref["box"]["x"], abs=0.5)
        assert face.score == pytest.approx(ref["score"], abs=1e-4)
        assert face.image_size == (1920, 1280)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    assert faces.as_dicts()[0] == {
        "box": faces[0].box.as_dict(),
        "score": faces[0].score,
    }


def test_tiny_options_select_the_tiny_detector(sample1):
    faces = fa.detect_all_faces(sample1, fa.TinyFaceDetectorOptions())
    want = load_golden("tiny_sample1")["detections"]
    assert [round(f.score, 4) for f in faces] == [round(r["score"], 4) for r in want]


def test_detect_single_face_is_the_best_face(sample1):
    best = fa.detect_single_face(sample1, fa.TinyFaceDetectorOptions())
    faces = fa.detect_all_faces(sample1, fa.TinyFaceDetectorOptions())
    assert best.detection == max(faces, key=lambda f: f.score).detection


def test_no_face_gives_empty_list_and_none(weights_dir):
    blank = np.full((120, 160, 3), 127, np.uint8)
    assert fa.detect_all_faces(blank) == []
    assert fa.detect_single_face(blank) is None


def test_inputs_of_every_kind_give_the_same_faces(sample1):
    arr = fa.load_image(sample1)
    small = Image.fromarray(arr).resize((480, 320))
    by_pil = fa.detect_all_faces(small, fa.TinyFaceDetectorOptions(320))
    by_array = fa.detect_all_faces(np.asarray(small), fa.TinyFaceDetectorOptions(320))
    assert [f.detection for f in by_pil] == [f.detection for f in by_array] and len(by_pil) > 0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fa.SsdMobilenetv1Options(min_confidence=0), "min_confidence"),
        (lambda: fa.SsdMobilenetv1Options(min_confidence=1.0), "min_confidence"),
        (lambda: fa.SsdMobilenetv1Options(min_confidence="0.5"), "min_confidence"),
        (lambda: fa.SsdMobilenetv1Options(max_results=0), "max_results"),
        (lambda: fa.SsdMobilenetv1Options(max_results=2.5), "max_results"),
        (lambda: fa.TinyFaceDetectorOptions(input_size=400), "multiple of 32"),
        (lambda: fa.TinyFaceDetectorOptions(input_size=0), "multiple of 32"),
        (lambda: fa.TinyFaceDetectorOptions(score_threshold=-0.1), "score_threshold"),
        (lambda: fa.TinyFaceDetectorOptions(score_threshold=True), "score_threshold"),
    ],
)
def test_options_out_of_range_are_refused(make, match):
    with pytest.raises(OptionsError, match=match):
        make()


def test_wrong_options_type_is_refused(weights_dir):
    with pytest.raises(
        OptionsError,
        match="SsdMobilenetv1Options, TinyFaceDetectorOptions or MtcnnOptions",
    ):
        fa.detect_all_faces(np.zeros((10, 10, 3), np.uint8), {"min_confidence": 0.5})


def test_corrupt_image_is_refused(weights_dir):
    with pytest.raises(ImageError, match="not a readable image"):
        fa.detect_all_faces(b"\xff\xd8\xff\xe0 definitely not a jpeg")


def test_resize_results_rescales_boxes(sample1):
    faces = fa.detect_all_faces(sample1, fa.TinyFaceDetectorOptions())
    half = fa.resize_results(faces, 960, 640)
    for f, h in zip(faces, half):
        assert h.box.x == pytest.approx(f.box.x / 2) and h.box.height == pytest.approx(
            f.box.height / 2
        )
        assert h.image_size == (960, 640) and h.score == f.score
    assert fa.resize_results(None, 1, 1) is None
    assert fa.resize_results(faces[0], 1920, 1280).box.width == pytest.approx(faces[0].box.width)


def test_box_geometry():
    b = fa.Box(10.0, 20.0, 30.0, 40.0)
    assert (b.left, b.top, b.right, b.bottom, b.area) == (10, 20, 40, 60, 1200)
    assert fa.Box(0.5, 1.5, 2.49, 2.5).round() == fa.Box(1, 2, 2, 3)  # JavaScript Math.round
    assert b.rescale(2, 0.5) == fa.Box(20, 10, 60, 20)


def test_draw_detections_draws_blue_boxes():
    img = np.zeros((100, 120, 3), np.uint8)
    det = fa.FaceDetection(0.93, fa.Box(20, 30, 40, 50), (120, 100))
    out = fa.draw_detections(img, [det])
    arr = np.asarray(out)
    assert out.size == (120, 100)
    assert tuple(arr[60, 20]) == (0, 0, 255)  # left edge of the box
    assert tuple(arr[79, 40]) == (0, 0, 255)  # bottom edge
    assert arr[55, 40].sum() == 0  # inside untouched
    assert arr[:30].sum() > 0  # score label drawn above the box
    assert np.asarray(fa.draw_detections(img, [], with_score=False)).sum() == 0


def test_resized_results_cannot_continue_the_chain(sample1):
    from faceapi_np.errors import InputError

    faces = fa.resize_results(fa.detect_all_faces(sample1, fa.TinyFaceDetectorOptions()), 100, 100)
    with pytest.raises(InputError, match="needs the image the faces were found in"):
        faces[0].with_face_landmarks()
