"""Drawing: where labels go, MTCNN's five points, and how match distances are written."""

from __future__ import annotations

import numpy as np
import pytest

import faceapi_np as fa
from faceapi_np.draw import LABEL_BACKGROUND, LANDMARK_POINT_COLOR, layout_labels, match_text
from faceapi_np.matching import FaceMatch

pytest.importorskip("PIL", reason="drawing needs Pillow")


def _rect(xy, size):
    return (xy[0], xy[1], xy[0] + size[0], xy[1] + size[1])


def _overlap(a, b):
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    return w > 0 and h > 0


def test_label_goes_above_when_free():
    box = fa.Box(40.0, 50.0, 30.0, 30.0)
    assert layout_labels([box], [(60, 14)], (200, 120)) == [(40.0, 36.0)]


def test_label_moves_below_or_inside_at_the_image_edges():
    top = fa.Box(20.0, 0.0, 40.0, 50.0)  # no room above
    assert layout_labels([top], [(60, 14)], (200, 120)) == [(20.0, 51.0)]
    full = fa.Box(10.0, 5.0, 40.0, 110.0)  # no room above nor below: inside, top-left
    assert layout_labels([full], [(60, 14)], (200, 120)) == [(10.0, 5.0)]
    right = fa.Box(190.0, 60.0, 10.0, 10.0)  # shifted left to stay in the image
    assert layout_labels([right], [(60, 14)], (200, 120)) == [(140.0, 46.0)]
    wide = fa.Box(5.0, 60.0, 10.0, 10.0)  # wider than the image: starts at its left edge
    assert layout_labels([wide], [(300, 14)], (200, 120)) == [(0.0, 46.0)]


def test_labels_keep_clear_of_other_faces_and_of_each_other():
    a = fa.Box(10.0, 40.0, 50.0, 50.0)
    b = fa.Box(55.0, 5.0, 40.0, 30.0)  # sits where a's label would go above a
    size = (60, 14)
    got = layout_labels([a, b], [size, size], (200, 120))
    assert got[0] == (10.0, 91.0)  # below a
    rects = [_rect(xy, size) for xy in got]
    boxes = [(x.x, x.y, x.right, x.bottom) for x in (a, b)]
    for i, r in enumerate(rects):
        assert 0 <= r[0] and r[2] <= 200 and 0 <= r[1] and r[3] <= 120
        assert not any(_overlap(r, bx) for j, bx in enumerate(boxes) if j != i)
    assert not _overlap(rects[0], rects[1])


def test_a_crowd_gets_the_least_covered_place():
    # three faces in a column, touching: every place covers something, and each label
    # is still inside the image
    boxes = [fa.Box(20.0, y, 40.0, 40.0) for y in (0.0, 40.0, 80.0)]
    got = layout_labels(boxes, [(50, 14)] * 3, (100, 120))
    for xy in got:
        r = _rect(xy, (50, 14))
        assert 0 <= r[0] and r[2] <= 100 and 0 <= r[1] and r[3] <= 120


def test_draw_labels_puts_the_label_below_a_face_at_the_top():
    img = np.full((100, 120, 3), 128, np.uint8)
    box = fa.Box(20.0, 0.0, 40.0, 50.0)
    arr = np.asarray(fa.draw_labels(img, [box], ["ann"]))
    label_rows = np.where((arr[:, 21:59] == LABEL_BACKGROUND).all(axis=2).any(axis=1))[0]
    assert label_rows.min() > 50 and label_rows.max() < 100  # below the box, in the image
    text = (arr[51:100, 20:120] == 255).all(axis=2)  # white text on the black background
    assert text.any()


def test_match_text_never_reads_as_the_threshold():
    assert match_text(FaceMatch("unknown", 0.608), 0.6) == "unknown (0.61)"
    assert match_text(FaceMatch("ann", 0.5996), 0.6) == "ann (0.5996)"
    assert match_text(FaceMatch("unknown", 0.6004)) == "unknown (0.6004)"  # default 0.6
    assert match_text(FaceMatch("ann", 0.31), 0.6) == "ann (0.31)"
    # face-api.js's own text, kept by FaceMatch.__str__, truncates 0.608 to 0.6
    assert str(FaceMatch("unknown", 0.608)) == "unknown (0.6)"


def test_draw_labels_writes_matches_with_match_text():
    img = np.full((80, 200, 3), 128, np.uint8)
    box = fa.Box(10.0, 30.0, 40.0, 40.0)
    via_match = np.asarray(
        fa.draw_labels(img, [box], [FaceMatch("unknown", 0.5996)], threshold=0.6)
    )
    via_text = np.asarray(fa.draw_labels(img, [box], ["unknown (0.5996)"]))
    naive = np.asarray(fa.draw_labels(img, [box], ["unknown (0.6)"]))
    assert np.array_equal(via_match, via_text) and not np.array_equal(via_match, naive)


def test_mtcnn_five_points_are_drawn():
    img = np.zeros((100, 120, 3), np.uint8)
    pts = np.array([[40.0, 45.0], [70.0, 45.0], [55.0, 60.0], [45.0, 75.0], [65.0, 75.0]])
    face = fa.FaceResult(fa.FaceDetection(0.99, fa.Box(30.0, 30.0, 50.0, 60.0), (120, 100), pts))
    for drawn in (fa.draw_detections(img, [face]), fa.draw_face_landmarks(img, [face])):
        arr = np.asarray(drawn)
        for x, y in pts.astype(int):
            assert tuple(arr[y, x]) == LANDMARK_POINT_COLOR
    plain = np.asarray(fa.draw_detections(img, [face], with_points=False))
    assert tuple(plain[45, 40]) == (0, 0, 0)
