"""68-point landmarks, the boxes aligned from them, and face crops.

Reference behaviour is face-api.js 0.22.2 (``classes/FaceLandmarks.js``, ``ops/minBbox.js``,
``classes/Box.js`` ``clipAtImageBorders``, ``dom/extractFaceTensors.js``,
``factories/WithFaceLandmarks.js``). Hand cases use dyadic numbers so that the expected
values are exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import faceapi_np as fa
from faceapi_np.errors import InputError
from faceapi_np.extract import (
    clip_box,
    extract_face_tensors,
    face_region,
    rotated_face_crop,
)
from faceapi_np.landmarks import FaceLandmarks68
from faceapi_np.results import Box, FaceDetection, FaceResult, resize_results

GROUP_SIZES = {
    "jaw_outline": 17,
    "left_eye_brow": 5,
    "right_eye_brow": 5,
    "nose": 9,
    "left_eye": 6,
    "right_eye": 6,
    "mouth": 20,
}


def distinct_rel() -> np.ndarray:
    """68 distinct relative positions: point i is (i/128, (i+1)/256), exact in binary."""
    i = np.arange(68, dtype=np.float64)
    return np.stack([i / 128, (i + 1) / 256], axis=1)


# --------------------------------------------------------------------- FaceLandmarks68


def test_positions_are_relative_times_crop_size_plus_shift():
    rel = distinct_rel()
    lm = FaceLandmarks68(rel, (64, 32), (10.5, -3.25))
    assert lm.image_size == (64, 32) and lm.shift == (10.5, -3.25)
    assert lm.positions.shape == (68, 2)
    # point 0: (0, 1/256) -> (0 * 64 + 10.5, 32/256 - 3.25)
    assert lm.positions[0].tolist() == [10.5, 0.125 - 3.25]
    # point 67: (67/128, 68/256) -> (33.5 + 10.5, 8.5 - 3.25)
    assert lm.positions[67].tolist() == [44.0, 5.25]
    np.testing.assert_array_equal(lm.positions, rel * [64, 32] + [10.5, -3.25])
    np.testing.assert_array_equal(lm.relative_positions, rel)
    with pytest.raises(ValueError):
        lm.positions[0, 0] = 1.0  # read-only


def test_relative_positions_round_trip_with_non_dyadic_sizes():
    rng = np.random.default_rng(5)
    rel = rng.random((68, 2))
    lm = FaceLandmarks68(rel, (177, 239), (413.7, 355.1))
    np.testing.assert_allclose(lm.relative_positions, rel, rtol=0, atol=1e-13)


def test_shift_by_and_for_size():
    rel = distinct_rel()
    lm = FaceLandmarks68(rel, (64, 32), (10.5, -3.25))
    moved = lm.shift_by(100, 200)
    assert moved.shift == (100.0, 200.0) and moved.image_size == (64, 32)
    assert moved.positions[67].tolist() == [133.5, 208.5]
    np.testing.assert_array_equal(moved.positions - lm.positions, np.tile([89.5, 203.25], (68, 1)))
    resized = lm.for_size(128, 16)
    assert resized.shift == (0.0, 0.0) and resized.image_size == (
        128,
        16,
    )  # shift reset
    assert resized.positions[67].tolist() == [67.0, 68 / 16]
    np.testing.assert_array_equal(resized.relative_positions, rel)


def test_groups_by_index():
    lm = FaceLandmarks68(distinct_rel(), (128, 256))  # point i is at (i, i + 1)
    assert {name: len(lm.group(name)) for name in GROUP_SIZES} == GROUP_SIZES
    assert sum(GROUP_SIZES.values()) == 68
    firsts = {name: lm.group(name)[0].tolist() for name in GROUP_SIZES}
    assert firsts == {
        "jaw_outline": [0, 1],
        "left_eye_brow": [17, 18],
        "right_eye_brow": [22, 23],
        "nose": [27, 28],
        "left_eye": [36, 37],
        "right_eye": [42, 43],
        "mouth": [48, 49],
    }
    assert lm.group("mouth")[-1].tolist() == [67, 68]
    assert lm.group("jaw_outline")[-1].tolist() == [16, 17]
    with pytest.raises(KeyError):
        lm.group("ears")


# --------------------------------------------------------------------- align_min_bbox


def landmarks_at(points, image_size=(1, 1), shift=(0.0, 0.0)) -> FaceLandmarks68:
    """Landmarks whose positions are exactly ``points`` (crop 1x1, no shift)."""
    pts = np.asarray(points, np.float64)
    return FaceLandmarks68((pts - shift) / np.array(image_size, np.float64), image_size, shift)


def spread(x0, x1, y0, y1) -> np.ndarray:
    """68 points whose bounding box is exactly [x0, x1] x [y0, y1]."""
    t = np.linspace(0, 1, 68)
    pts = np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t[::-1]], axis=1)
    pts[0], pts[-1] = (x0, y1), (x1, y0)
    return pts


def test_align_min_bbox_pads_20_percent_split_on_both_sides():
    lm = landmarks_at(spread(10, 60, 20, 100))  # 50 x 80
    # pad 0.2 * 50 = 10 (5 each side), 0.2 * 80 = 16 (8 each side)
    assert lm.align_min_bbox() == Box(5.0, 12.0, 60.0, 96.0)
    assert lm.align() == Box(5.0, 12.0, 60.0, 96.0)
    assert lm.align_min_bbox(0.5) == Box(-2.5, 0.0, 75.0, 120.0)
    assert lm.align(min_box_padding=0.0) == Box(10.0, 20.0, 50.0, 80.0)


def test_align_min_bbox_running_maxima_start_at_zero():
    # face-api.js minBbox reduces max from 0: all-negative points get max 0, not -10 / -20
    lm = landmarks_at(spread(-50, -10, -80, -20))
    box = lm.align_min_bbox(0.0)
    assert box == Box(-50.0, -80.0, 50.0, 80.0)
    assert lm.align_min_bbox() == Box(-55.0, -88.0, 60.0, 96.0)
    # only x negative: y is unaffected
    assert landmarks_at(spread(-50, -10, 20, 100)).align_min_bbox() == Box(-55.0, 12.0, 60.0, 96.0)


def test_align_with_a_detection_floors_its_corner_but_not_a_box():
    lm = landmarks_at(spread(10, 60, 20, 100), (256, 256))
    det = FaceDetection(0.9, Box(10.75, 20.25, 50, 50), (640, 480))
    # a FaceDetection's box is floored (face-api.js detection.box.floor()), a Box is not
    assert lm.align(det) == lm.shift_by(10, 20).align()
    assert lm.align(det) == Box(15.0, 32.0, 60.0, 96.0)
    assert lm.align(Box(10.75, 20.25, 50, 50)) == Box(15.75, 32.25, 60.0, 96.0)
    assert lm.align(det, use_dlib=True) == lm.shift_by(10, 20).align_dlib()


# --------------------------------------------------------------------- align_dlib


def dlib_face(left_eye, right_eye, mouth, image_size=(512, 512)) -> FaceLandmarks68:
    """Landmarks whose eye and mouth centres are exactly the given points."""
    pts = np.zeros((68, 2))
    pts[:36] = [200.0, 300.0]  # jaw, brows, nose: anywhere
    eye_offsets = np.array([[-2, 0], [2, 0], [-1, -1], [1, 1], [-1, 1], [1, -1]], float)
    pts[36:42] = np.asarray(left_eye) + eye_offsets
    pts[42:48] = np.asarray(right_eye) + eye_offsets
    mouth_offsets = np.array([[k, s * k / 2] for k in range(1, 11) for s in (1, -1)], float)
    mouth_offsets[1::2, 0] *= -1  # symmetric pairs about the centre
    pts[48:68] = np.asarray(mouth) + mouth_offsets
    return landmarks_at(pts, image_size)


def test_align_dlib_hand_computed():
    lm = dlib_face((100, 100), (160, 100), (130, 180))
    le, re_, mo = lm.ref_points()
    assert le.tolist() == [100, 100] and re_.tolist() == [160, 100] and mo.tolist() == [130, 180]
    # eye-to-mouth: (30, 80) both, |.| = sqrt(7300) = 85.44; size = floor(85.44 / 0.45) = 189
    size = math.floor(math.sqrt(7300) / 0.45)
    assert size == 189
    # ref = mean of centres = (130, 126.67); corner = floor(130 - 94.5), floor(126.67 - 81.27)
    assert lm.align_dlib() == Box(35, 45, 189, 189)
    assert lm.align(use_dlib=True) == Box(35, 45, 189, 189)
    # tilted, near the left edge: eyes (10.5, 140), (90.25, 170), mouth (70, 250)
    lm = dlib_face((10.5, 140), (90.25, 170), (70, 250))
    # eye-to-mouth |(59.5, 110)| = 125.06, |(-20.25, 80)| = 82.52, mean 103.79 -> 230.65 -> 230
    # ref = (170.75 / 3, 560 / 3) = (56.92, 186.67): x = max(0, 56.92 - 115) = 0 (clamped),
    # y = floor(186.67 - 0.43 * 230) = floor(87.77) = 87
    assert lm.align_dlib() == Box(0, 87, 230, 230)


def test_align_dlib_clamps_the_corner_at_zero_and_the_size_with_the_crop():
    lm = dlib_face((0, 0), (60, 0), (30, 80))
    assert lm.align_dlib() == Box(0, 0, 189, 189)  # corner max(0, ...) each
    # face-api.js: Rect(x, y, min(size, imageWidth + x), min(size, imageHeight + y)),
    # with the crop's own size: a 100 x 150 crop whose landmarks are at (35, 45)...
    lm = dlib_face((100, 100), (160, 100), (130, 180), image_size=(100, 150))
    assert lm.align_dlib() == Box(35, 45, 135, 189)


def test_roll_angle():
    assert dlib_face((100, 100), (160, 100), (130, 180)).roll_angle() == 0.0
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    tilted = dlib_face((100, 100), (100 + 64 * c, 100 + 64 * s), (120, 180))
    assert tilted.roll_angle() == pytest.approx(math.pi / 6, abs=1e-12)  # right eye lower: +30 deg
    up = dlib_face((100, 100), (100 + 64 * c, 100 - 64 * s), (120, 180))
    assert up.roll_angle() == pytest.approx(-math.pi / 6, abs=1e-12)


# --------------------------------------------------------------------- extract


def test_clip_box_clamps_then_floors_each_coordinate():
    assert clip_box(Box(-10.5, 20.7, 100.2, 50.9), 640, 480) == Box(0, 20, 89, 50)
    assert clip_box(Box(600.5, 450.2, 100, 100), 640, 480) == Box(600, 450, 39, 29)
    # x and width floored separately (not the right edge): 10.9 + 20 -> 10, 20
    assert clip_box(Box(10.9, 10.9, 20.0, 20.0), 640, 480) == Box(10, 10, 20, 20)
    assert clip_box(Box(-5, -5, 700, 500), 640, 480) == Box(0, 0, 640, 480)
    r = clip_box(Box(-10.5, 20.7, 100.2, 50.9), 640, 480)
    assert all(type(v) is int for v in (r.x, r.y, r.width, r.height))


def test_face_region_re_expresses_a_detection_for_the_image_size():
    det = FaceDetection(0.9, Box(10.3, 20.3, 50.3, 60.2), (320, 240))
    # doubled for a 640 x 480 image: (20.6, 40.6, 100.6, 120.4) -> floored
    assert face_region((640, 480), det) == Box(20, 40, 100, 120)
    assert face_region((640, 480), FaceResult(det)) == Box(20, 40, 100, 120)
    # a Box is taken as pixels of the image as it is
    assert face_region((640, 480), det.box) == Box(10, 20, 50, 60)
    # the doubled box runs past the right edge of a 640 x 480 image
    edge = FaceDetection(0.9, Box(300.25, 200.25, 40, 60), (320, 240))  # (600.5, 400.5, 80, 120)
    assert face_region((640, 480), edge) == Box(600, 400, 39, 79)


@pytest.mark.parametrize(
    "box", [Box(700, 10, 50, 50), Box(-100, -100, 50, 50), Box(10, 480, 20, 20)]
)
def test_box_outside_the_image_is_refused(box):
    with pytest.raises(InputError, match="outside the 640x480 image"):
        face_region((640, 480), box)
    with pytest.raises(InputError, match="outside"):
        extract_face_tensors(np.zeros((480, 640, 3), np.uint8), [box])


def test_extract_face_tensors_slices_the_clipped_region():
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx % 256, yy, np.full_like(xx, 7)], axis=2).astype(np.uint8)
    det = FaceDetection(0.9, Box(10.3, 20.3, 50.3, 60.2), (640, 480))  # halved: (5.15, 10.15, ...)
    crops = extract_face_tensors(
        img, [Box(-10.5, 20.7, 100.2, 50.9), det, Box(300.5, 230.5, 40, 40)]
    )
    assert [c.shape for c in crops] == [(50, 89, 3), (30, 25, 3), (9, 19, 3)]
    assert crops[0][0, 0].tolist() == [0, 20, 7] and crops[0][-1, -1].tolist() == [
        88,
        69,
        7,
    ]
    assert crops[1][0, 0].tolist() == [5, 10, 7]
    assert crops[2][-1, -1].tolist() == [318 % 256, 238, 7]
    np.testing.assert_array_equal(crops[1], img[10:40, 5:30])
    faces = fa.extract_faces(img, [det])
    assert faces[0].size == (25, 30)
    np.testing.assert_array_equal(np.asarray(faces[0]), img[10:40, 5:30])


# --------------------------------------------------------------------- rotated_face_crop


def test_rotated_face_crop_at_angle_zero_is_a_plain_crop():
    rng = np.random.default_rng(6)
    img = (rng.random((90, 120, 3)) * 255).astype(np.float32)
    for box in (Box(10, 20, 40, 40), Box(0, 0, 33, 21), Box(80, 50, 40, 40)):
        crop = rotated_face_crop(img, box, 0.0)
        assert crop.dtype == np.float32 and crop.shape == (box.height, box.width, 3)
        np.testing.assert_allclose(
            crop,
            img[box.y : box.y + box.height, box.x : box.x + box.width],
            rtol=0,
            atol=1e-4,
        )


def bar_image(angle: float, size=200, sigma=2.0) -> np.ndarray:
    """A dark image with a bright bar through its centre along direction (cos, sin).

    The bar's profile across is a Gaussian (no hard edges to alias when resampled).
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5  # pixel centres
    c = size / 2
    off = -(xx - c) * math.sin(angle) + (yy - c) * math.cos(angle)  # distance from the line
    img = 255.0 * np.exp(-0.5 * (off / sigma) ** 2)
    return np.repeat(img[:, :, None], 3, axis=2).astype(np.float32)


def bar_rows(crop: np.ndarray) -> np.ndarray:
    """Per column, the brightness-weighted mean row of the crop (continuous, centre 0.5)."""
    g = crop[:, :, 0].astype(np.float64)
    rows = np.arange(g.shape[0])[:, None] + 0.5
    return (g * rows).sum(axis=0) / g.sum(axis=0)


@pytest.mark.parametrize("degrees", [30.0, -15.0, 52.5])
def test_rotating_by_the_bar_angle_makes_the_bar_horizontal(degrees):
    angle = math.radians(degrees)
    img = bar_image(angle)
    box = Box(60, 60, 80, 80)
    crop = rotated_face_crop(img, box, angle)
    rows = bar_rows(crop)
    np.testing.assert_allclose(rows, 40.0, atol=0.05)  # every column: the bar at mid-height
    assert crop[39:41].min() > 200 and crop[:30].max() < 1 and crop[51:].max() < 1
    # without the rotation, or with the opposite one, the bar is slanted
    for wrong in (0.0, -angle):
        slope = np.polyfit(np.arange(80), bar_rows(rotated_face_crop(img, box, wrong)), 1)[0]
        assert abs(slope) > 0.2


# --------------------------------------------------------------------- a real photo


@pytest.fixture(scope="module")
def sample1_faces(weights_dir, samples_dir):
    return fa.detect_all_faces(samples_dir / "sample1.jpg").with_face_landmarks()


def test_every_face_has_68_landmarks_inside_its_aligned_rect(sample1_faces):
    assert len(sample1_faces) == 3
    for face in sample1_faces:
        pts = face.landmarks.positions
        assert pts.shape == (68, 2) and np.isfinite(pts).all()
        box = face.aligned_rect.box
        assert (pts[:, 0] > box.x).all() and (pts[:, 0] < box.right).all()
        assert (pts[:, 1] > box.y).all() and (pts[:, 1] < box.bottom).all()
        # and well inside the detection: most of the points lie within its box
        det = face.box
        inside = (
            (pts[:, 0] >= det.x)
            & (pts[:, 0] <= det.right)
            & (pts[:, 1] >= det.y)
            & (pts[:, 1] <= det.bottom)
        )
        assert inside.mean() > 0.9


def test_landmarks_are_the_crop_landmarks_shifted_by_the_unfloored_box_corner(
    sample1_faces,
):
    w, h = sample1_faces.image.shape[1], sample1_faces.image.shape[0]
    for face in sample1_faces:
        box = face.box
        assert box.x != math.floor(box.x)  # the case where floored and unfloored differ
        un = face.unshifted_landmarks
        assert un.shift == (0.0, 0.0)
        region = face_region((w, h), face.detection)  # the crop the landmark net saw
        assert un.image_size == (region.width, region.height)
        np.testing.assert_allclose(
            un.positions + [box.x, box.y], face.landmarks.positions, rtol=0, atol=1e-9
        )
        assert face.landmarks.shift == (box.x, box.y)


def test_aligned_rect_is_the_aligned_box_made_relative_and_back(sample1_faces):
    w, h = sample1_faces.image.shape[1], sample1_faces.image.shape[0]
    for face in sample1_faces:
        r = face.landmarks.align()
        rect = face.aligned_rect
        assert rect.score == face.score and rect.image_size == (w, h)
        want = (
            r.x * (1 / w) * w,
            r.y * (1 / h) * h,
            r.width * (1 / w) * w,
            r.height * (1 / h) * h,
        )
        got = (rect.box.x, rect.box.y, rect.box.width, rect.box.height)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got, (r.x, r.y, r.width, r.height), rtol=0, atol=1e-9)


def reference_align_dlib(positions: np.ndarray) -> tuple:
    """face-api.js alignDlib written out point by point (crop size taken as large)."""

    def centre(idx):
        sx = sy = 0.0
        for i in idx:
            sx, sy = sx + positions[i][0], sy + positions[i][1]
        return sx / len(idx), sy / len(idx)

    le, re_, mo = centre(range(36, 42)), centre(range(42, 48)), centre(range(48, 68))

    def mag(p):
        return math.sqrt((mo[0] - p[0]) ** 2 + (mo[1] - p[1]) ** 2)

    size = math.floor(((mag(le) + mag(re_)) / 2) / 0.45)
    ref = ((le[0] + re_[0] + mo[0]) / 3, (le[1] + re_[1] + mo[1]) / 3)
    return (
        math.floor(max(0, ref[0] - 0.5 * size)),
        math.floor(max(0, ref[1] - 0.43 * size)),
        size,
        size,
    )


def test_align_dlib_on_real_landmarks_matches_the_written_out_reference(sample1_faces):
    for face in sample1_faces:
        box = face.landmarks.align_dlib()
        assert (box.x, box.y, box.width, box.height) == reference_align_dlib(
            face.landmarks.positions.tolist()
        )
        assert 0.8 < box.width / face.box.width < 1.6  # a face-sized square


def test_resize_results_to_half_size(sample1_faces):
    w, h = sample1_faces.image.shape[1], sample1_faces.image.shape[0]
    half = resize_results(list(sample1_faces), w // 2, h // 2)
    assert len(half) == 3
    for face, small in zip(sample1_faces, half):
        assert small.image_size == (w // 2, h // 2)
        np.testing.assert_allclose(
            [small.box.x, small.box.y, small.box.width, small.box.height],
            [face.box.x / 2, face.box.y / 2, face.box.width / 2, face.box.height / 2],
            atol=1e-9,
        )
        # face-api.js resizeResults: the crop landmarks re-expressed for the resized
        # detection box (unfloored), then shifted by its corner
        b = small.box
        want = face.unshifted_landmarks.relative_positions * [b.width, b.height] + [
            b.x,
            b.y,
        ]
        np.testing.assert_allclose(small.landmarks.positions, want, rtol=0, atol=1e-9)
        # ... so positions are halved up to the floor of the original crop size
        np.testing.assert_allclose(
            small.landmarks.positions, face.landmarks.positions / 2, rtol=0, atol=0.5
        )
