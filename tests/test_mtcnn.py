"""MTCNN against the real face-api.js 0.22.2 (goldens made with the reference tool's canvas
stand-in for the stage 2/3 patches), plus options, statistics and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import golden_cases, load_golden
from inputs import array_sha256, make_input

import faceapi_np as fa
from faceapi_np.errors import ImageError, OptionsError
from faceapi_np.mtcnn import Mtcnn, MtcnnOptions
from faceapi_np.mtcnn.pyramid import pyramid_down, select_scales

BOX_PX = 0.5
SCORE_ATOL = 1e-4


@pytest.fixture(scope="module")
def mtcnn(weights_dir):
    return Mtcnn().load(weights_dir)


def _options(o) -> MtcnnOptions:
    return MtcnnOptions(
        o["minFaceSize"],
        o["scaleFactor"],
        o["maxNumScales"],
        tuple(o["scoreThresholds"]),
    )


@pytest.mark.parametrize("name", golden_cases("mtcnn_"))
def test_mtcnn_matches_faceapi_js(name, mtcnn, bk, samples_dir):
    case = load_golden(name)
    img = make_input(case["input_spec"], samples_dir)
    assert array_sha256(img) == case["input_sha256"]
    faces, stats = mtcnn.detect(img, _options(case["options"]), bk)
    assert len(faces) == len(case["detections"])
    for face, ref, pts in zip(faces, case["detections"], case["points5"]):
        for key in ("x", "y", "width", "height"):
            assert getattr(face.detection.box, key) == pytest.approx(ref["box"][key], abs=BOX_PX)
        assert face.detection.score == pytest.approx(ref["score"], abs=SCORE_ATOL)
        np.testing.assert_allclose(face.landmarks5, pts, atol=BOX_PX, rtol=0)
    # each stage's survivors: the same counts as face-api.js's forwardWithStats
    want = case["raw"]["mtcnn_stats"]
    np.testing.assert_allclose(stats["scales"], want["scales"], rtol=1e-12)
    assert [s.get("numBoxes") for s in stats["stage1"]] == [
        s.get("numBoxes") for s in want["stage1"]
    ]
    for key in ("stage2_numInputBoxes", "stage3_numInputBoxes"):
        assert stats.get(key) == want.get(key)


def test_detect_all_faces_with_mtcnn_chains(weights_dir, samples_dir):
    case = load_golden("mtcnn_sample1")
    img = make_input(case["input_spec"], samples_dir)
    faces = fa.detect_all_faces(img, MtcnnOptions()).with_face_landmarks().with_face_descriptors()
    assert len(faces) == len(case["detections"])
    for f, pts in zip(faces, case["points5"]):
        assert f.landmarks5.shape == (5, 2) and f.landmarks.positions.shape == (68, 2)
        np.testing.assert_allclose(f.landmarks5, pts, atol=0.5)
        assert set(f.as_dict()) >= {
            "box",
            "score",
            "landmarks5",
            "landmarks",
            "descriptor",
        }
    half = fa.resize_results(faces, img.shape[1] // 2, img.shape[0] // 2)
    np.testing.assert_allclose(
        half[0].landmarks5,
        faces[0].landmarks5
        * [(img.shape[1] // 2) / img.shape[1], (img.shape[0] // 2) / img.shape[0]],
    )


def test_pyramid_matches_hand_computation():
    # 12 / 20 = 0.6; shorter side 100 -> 60, 42.5, 30.2, 21.4, 15.2, 10.8 (< 12 stops)
    scales = pyramid_down(20, 0.709, 100, 150)
    assert scales == pytest.approx([0.6 * 0.709**k for k in range(5)])
    # levels whose floored size is not above 12 are dropped, then at most max_num_scales kept
    assert select_scales(MtcnnOptions(max_num_scales=2), 100, 150) == pytest.approx(scales[:2])
    assert select_scales(MtcnnOptions(scale_steps=(0.5, 0.1)), 100, 150) == [0.5]


def test_summary_covers_the_three_nets(mtcnn):
    s = mtcnn.summary()
    names = [r.name for r in s.rows]
    assert names[0] == "pnet/conv1" and "rnet/fc1" in names and names[-1] == "onet/fc2_3"
    assert s.total_params == sum(a.size for _, a in mtcnn.iter_params()) - sum(
        a.size for p, a in mtcnn.iter_params() if "alpha" in p
    )  # PReLU slopes are not in a layer's params
    onet_fc1 = next(r for r in s.rows if r.name == "onet/fc1")
    assert onet_fc1.shape == (1, 256) and onet_fc1.macs == 1152 * 256


def test_image_smaller_than_min_face_size_is_refused(mtcnn):
    with pytest.raises(ImageError, match="smaller than MtcnnOptions.min_face_size=20"):
        mtcnn.detect(np.zeros((15, 40, 3), np.uint8), MtcnnOptions())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_face_size": 0}, "min_face_size"),
        ({"scale_factor": 1.0}, "scale_factor"),
        ({"scale_factor": 0}, "scale_factor"),
        ({"max_num_scales": 0}, "max_num_scales"),
        ({"score_thresholds": (0.6, 0.7)}, "score_thresholds"),
        ({"score_thresholds": (0.6, 0.7, 1.5)}, "score_thresholds"),
        ({"scale_steps": (0.5, -1)}, "scale_steps"),
        ({"scale_steps": ()}, "scale_steps"),
    ],
)
def test_options_out_of_range(kwargs, match):
    with pytest.raises(OptionsError, match=match):
        MtcnnOptions(**kwargs)
