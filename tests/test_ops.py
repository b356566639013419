"""IoU, both non-maximum suppressions, sigmoid and SSD's output layer against face-api.js 0.22.2.

Hand cases follow face-api.js ``test/tests/ops/iou.test.ts`` (IoU of 1, 0 and 0.5); the
two NMS functions are also compared, on a few hundred seeded random boxes, with direct
Python transcriptions of face-api.js's loops (``src/ops/nonMaxSuppression.ts`` and
``src/ssdMobilenetv1/nonMaxSuppression.ts``), which must give identical index lists.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from faceapi_np import ops

# --- transcriptions of face-api.js ---------------------------------------------------


def js_iou(box1, box2, is_iou=True):
    """``src/ops/iou.ts`` on ``Box`` objects: right = x + width, area = width * height."""
    x1, y1, w1, h1 = (float(v) for v in box1)
    x2, y2, w2, h2 = (float(v) for v in box2)
    width = max(0.0, min(x1 + w1, x2 + w2) - max(x1, x2))
    height = max(0.0, min(y1 + h1, y2 + h2) - max(y1, y2))
    inter = width * height
    return inter / (w1 * h1 + w2 * h2 - inter) if is_iou else inter / min(w1 * h1, w2 * h2)


def js_nms(boxes, scores, iou_threshold, is_iou=True):
    """``src/ops/nonMaxSuppression.ts``: stable ascending sort, pop the best, filter the rest."""
    order = [
        i for _, i in sorted(((float(s), i) for i, s in enumerate(scores)), key=lambda c: c[0])
    ]
    pick = []
    while order:
        curr = order.pop()
        pick.append(curr)
        outputs = [js_iou(boxes[curr], boxes[idx], is_iou) for idx in order]
        order = [idx for idx, o in zip(order, outputs) if o <= iou_threshold]
    return pick


def js_ssd_iou(boxes, i, j):
    """``IOU`` of ``src/ssdMobilenetv1/nonMaxSuppression.ts``."""
    bi, bj = [float(v) for v in boxes[i]], [float(v) for v in boxes[j]]
    ymin_i, xmin_i, ymax_i, xmax_i = (
        min(bi[0], bi[2]),
        min(bi[1], bi[3]),
        max(bi[0], bi[2]),
        max(bi[1], bi[3]),
    )
    ymin_j, xmin_j, ymax_j, xmax_j = (
        min(bj[0], bj[2]),
        min(bj[1], bj[3]),
        max(bj[0], bj[2]),
        max(bj[1], bj[3]),
    )
    area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i)
    area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j)
    if area_i <= 0 or area_j <= 0:
        return 0.0
    inter = max(min(ymax_i, ymax_j) - max(ymin_i, ymin_j), 0.0) * max(
        min(xmax_i, xmax_j) - max(xmin_i, xmin_j), 0.0
    )
    return inter / (area_i + area_j - inter)


def js_nms_ssd(boxes, scores, max_output, iou_threshold, score_threshold):
    """The SSD loop as face-api.js writes it, score multiplication and all."""
    output_size = min(max_output, len(boxes))
    cands = [
        {"score": float(s), "box": i} for i, s in enumerate(scores) if float(s) > score_threshold
    ]
    cands.sort(key=functools.cmp_to_key(lambda c1, c2: c2["score"] - c1["score"]))  # stable
    selected = []
    for c in cands:
        if len(selected) >= output_size:
            continue
        original = c["score"]
        for j in range(len(selected) - 1, -1, -1):
            iou = js_ssd_iou(boxes, c["box"], selected[j])
            if iou == 0.0:
                continue
            c["score"] *= 1 if iou <= iou_threshold else 0
            if c["score"] <= score_threshold:
                break
        if original == c["score"]:
            selected.append(c["box"])
    return selected


# --- IoU -----------------------------------------------------------------------------


def test_iou_identical_is_one():
    assert ops.iou((0, 0, 20, 20), (0, 0, 20, 20)) == 1.0
    assert ops.iou((3.5, -2, 7, 0.25), (3.5, -2, 7, 0.25)) == 1.0
    assert ops.iou((0, 0, 20, 20), (0, 0, 20, 20), use_iou=False) == 1.0


def test_iou_disjoint_is_zero():
    assert ops.iou((0, 0, 20, 20), (20, 20, 20, 20)) == 0.0
    assert ops.iou((0, 0, 20, 20), (20, 0, 20, 20)) == 0.0  # touching edges share no area
    assert ops.iou((0, 0, 2, 2), (5, 5, 1, 1), use_iou=False) == 0.0


def test_iou_hand_cases():
    # (0,0,2,2) and (1,0,2,2) share a 1x2 strip: 2 / (4 + 4 - 2)
    assert ops.iou((0, 0, 2, 2), (1, 0, 2, 2)) == pytest.approx(1 / 3, rel=1e-15)
    # (0,0,3,2) and (1,0,3,2) share a 2x2 square: 4 / (6 + 6 - 4)
    assert ops.iou((0, 0, 3, 2), (1, 0, 3, 2)) == 0.5
    # (0,0,20,20) and its left half
    assert ops.iou((0, 0, 20, 20), (0, 0, 10, 20)) == 0.5
    assert ops.iou((0, 0, 4, 4), (1, 1, 2, 2)) == 0.25  # contained


def test_iou_min_variant():
    # intersection over the smaller area (MTCNN 'Min')
    assert ops.iou((0, 0, 2, 2), (1, 0, 2, 2), use_iou=False) == 0.5
    assert ops.iou((0, 0, 4, 4), (1, 1, 2, 2), use_iou=False) == 1.0
    assert ops.iou((0, 0, 4, 2), (3, 0, 1, 2), use_iou=False) == 1.0
    assert ops.iou((0, 0, 4, 2), (2, 1, 4, 4), use_iou=False) == 2 / 8


def test_iou_is_symmetric_and_matches_transcription():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = np.concatenate([rng.uniform(0, 10, 2), rng.uniform(0.1, 5, 2)])
        b = np.concatenate([rng.uniform(0, 10, 2), rng.uniform(0.1, 5, 2)])
        for use_iou in (True, False):
            assert ops.iou(a, b, use_iou) == ops.iou(b, a, use_iou)
            assert ops.iou(a, b, use_iou) == pytest.approx(
                js_iou(a, b, use_iou), rel=1e-12, abs=1e-15
            )


# --- generic NMS ---------------------------------------------------------------------

A = (0, 0, 3, 2)
B = (1, 0, 3, 2)  # IoU(A, B) = 0.5 exactly
FAR = (10, 10, 3, 2)


def test_nms_iou_equal_to_threshold_is_kept():
    assert ops.nms([A, B], [0.9, 0.8], 0.5) == [
        0,
        1,
    ]  # face-api.js drops only IoU > threshold
    assert ops.nms([A, B], [0.9, 0.8], 0.49) == [0]
    assert ops.nms([A, B], [0.8, 0.9], 0.49) == [1]


def test_nms_best_first():
    boxes = [A, FAR, B, (20, 0, 1, 1)]
    assert ops.nms(boxes, [0.2, 0.9, 0.7, 0.5], 0.3) == [1, 2, 3]
    assert ops.nms(boxes, [0.2, 0.9, 0.7, 0.5], 0.6) == [1, 2, 3, 0]


def test_nms_ties_go_to_the_highest_index():
    assert ops.nms([A, A, A], [0.5, 0.5, 0.5], 0.5) == [2]
    assert ops.nms([A, FAR, (20, 0, 1, 1)], [0.5, 0.5, 0.5], 0.5) == [2, 1, 0]
    assert ops.nms([A, FAR, B], [0.9, 0.5, 0.9], 0.3) == [2, 1]
    assert ops.nms([A, FAR, B], [0.9, 0.5, 0.9], 0.6) == [2, 0, 1]


def test_nms_empty_and_single():
    assert ops.nms(np.zeros((0, 4)), np.zeros(0), 0.5) == []
    assert ops.nms([], [], 0.5) == []
    assert ops.nms([A], [0.1], 0.5) == [0]
    assert ops.nms(np.array([A], np.float32), np.array([0.1], np.float32), 0.0) == [0]


def test_nms_min_variant():
    big, inner = (0, 0, 4, 4), (1, 1, 2, 2)  # IoU 0.25, Min 1.0
    assert ops.nms([big, inner], [0.9, 0.8], 0.5) == [0, 1]
    assert ops.nms([big, inner], [0.9, 0.8], 0.5, use_iou=False) == [0]


def _random_xywh(rng, n, clusters=12):
    """Boxes around a few centres so that many overlap; scores on a coarse grid (ties)."""
    centres = rng.uniform(0, 100, (clusters, 2))
    c = centres[rng.integers(0, clusters, n)] + rng.normal(0, 4, (n, 2))
    wh = rng.uniform(2, 20, (n, 2))
    boxes = np.concatenate([c - wh / 2, wh], axis=1)
    scores = np.round(rng.uniform(0, 1, n), 2)
    return boxes, scores


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("use_iou", [True, False])
def test_nms_matches_face_api_js_loop(seed, threshold, use_iou):
    rng = np.random.default_rng(seed)
    boxes, scores = _random_xywh(rng, 300)
    want = js_nms(boxes.tolist(), scores.tolist(), threshold, use_iou)
    got = ops.nms(boxes, scores, threshold, use_iou)
    assert got == want
    assert all(isinstance(i, int) for i in got)
    assert 0 < len(got) < 300


# --- SSD NMS -------------------------------------------------------------------------

# (y_min, x_min, y_max, x_max)
P = (0.0, 0.0, 0.5, 0.75)
Q = (0.0, 0.25, 0.5, 1.0)  # IoU(P, Q) = 0.25 / 0.5 = 0.5, exact in binary
R = (0.5, 0.5, 0.875, 0.875)  # touches P along y = 0.5: no shared area
S = (0.0, 0.8125, 0.125, 0.9375)  # away from P and R


def test_nms_ssd_score_threshold_is_strict():
    boxes = [P, R, S]
    assert ops.nms_ssd(boxes, [0.5, 0.50001, 0.4], 100, 0.5, 0.5) == [1]
    assert ops.nms_ssd(boxes, [0.5, 0.50001, 0.4], 100, 0.5, 0.4) == [1, 0]
    assert ops.nms_ssd(boxes, [0.5, 0.5, 0.5], 100, 0.5, 0.5) == []


def test_nms_ssd_iou_threshold_keeps_equality():
    boxes = [P, Q]
    assert ops.nms_ssd(boxes, [0.9, 0.8], 100, 0.5, 0.1) == [0, 1]
    assert ops.nms_ssd(boxes, [0.9, 0.8], 100, 0.49, 0.1) == [0]


def test_nms_ssd_max_output():
    boxes = [(0.1 * i, 0.0, 0.1 * i + 0.05, 0.05) for i in range(6)]  # disjoint
    scores = [0.3, 0.9, 0.5, 0.7, 0.2, 0.8]
    assert ops.nms_ssd(boxes, scores, 3, 0.5, 0.0) == [1, 5, 3]
    assert ops.nms_ssd(boxes, scores, 100, 0.5, 0.0) == [1, 5, 3, 2, 0, 4]
    assert ops.nms_ssd(boxes, scores, 0, 0.5, 0.0) == []
    # suppressed candidates do not use up the budget
    boxes2 = [P, P, R, S]
    assert ops.nms_ssd(boxes2, [0.9, 0.8, 0.7, 0.6], 2, 0.5, 0.0) == [0, 2]


def test_nms_ssd_sorted_by_score_ties_in_index_order():
    boxes = [(0.1 * i, 0.0, 0.1 * i + 0.05, 0.05) for i in range(5)]  # disjoint
    assert ops.nms_ssd(boxes, [0.5, 0.7, 0.5, 0.7, 0.5], 100, 0.5, 0.0) == [
        1,
        3,
        0,
        2,
        4,
    ]
    # among identical boxes with equal scores the lowest index survives
    assert ops.nms_ssd([R, R, R], [0.6, 0.6, 0.6], 100, 0.5, 0.0) == [0]


def test_nms_ssd_zero_area_boxes_never_suppress_or_get_suppressed():
    line = (0.0, 0.25, 0.5, 0.25)  # zero width, inside P
    point = (0.25, 0.25, 0.25, 0.25)
    assert ops.nms_ssd([line, P, point, P], [0.9, 0.8, 0.7, 0.6], 100, 0.5, 0.0) == [
        0,
        1,
        2,
    ]
    assert ops.nms_ssd([P, line, point], [0.9, 0.8, 0.7], 100, 0.0, 0.0) == [0, 1, 2]
    assert ops.nms_ssd([line, line], [0.9, 0.8], 100, 0.0, 0.0) == [0, 1]


def test_nms_ssd_swapped_corners_give_the_same_iou():
    p_swapped = (P[2], P[3], P[0], P[1])  # (y_max, x_max, y_min, x_min)
    q_half_swapped = (Q[2], Q[1], Q[0], Q[3])
    assert ops.nms_ssd([P, Q], [0.9, 0.8], 100, 0.49, 0.1) == [0]
    assert ops.nms_ssd([p_swapped, q_half_swapped], [0.9, 0.8], 100, 0.49, 0.1) == [0]
    assert ops.nms_ssd([p_swapped, q_half_swapped], [0.9, 0.8], 100, 0.5, 0.1) == [0, 1]
    # a box with swapped corners has positive area, so it suppresses its own unswapped copy
    assert ops.nms_ssd([p_swapped, P], [0.9, 0.8], 100, 0.99, 0.1) == [0]


def test_nms_ssd_empty_and_single():
    assert ops.nms_ssd(np.zeros((0, 4)), np.zeros(0), 100, 0.5, 0.5) == []
    assert ops.nms_ssd([R], [0.9], 100, 0.5, 0.5) == [0]
    assert ops.nms_ssd([R], [0.4], 100, 0.5, 0.5) == []


def _random_corners(rng, n, clusters=10):
    """Relative boxes around a few centres, some with swapped corners, some of zero area."""
    centres = rng.uniform(0, 1, (clusters, 2))
    c = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.03, (n, 2))
    hw = rng.uniform(0.02, 0.2, (n, 2))
    boxes = np.concatenate([c - hw / 2, c + hw / 2], axis=1)  # (y_min, x_min, y_max, x_max)
    swap = rng.random(n) < 0.2
    boxes[swap] = boxes[swap][:, [2, 3, 0, 1]]
    flat = rng.random(n) < 0.05
    boxes[flat, 2] = boxes[flat, 0]  # zero height
    scores = np.round(rng.uniform(0, 1, n), 2)  # coarse grid: many ties
    return boxes.astype(np.float32), scores.astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "max_output,iou_threshold,score_threshold",
    [
        (100, 0.5, 0.5),
        (100, 0.3, 0.1),
        (20, 0.5, 0.2),
        (400, 0.0, 0.0),
        (400, 0.9, 0.05),
    ],
)
def test_nms_ssd_matches_face_api_js_loop(seed, max_output, iou_threshold, score_threshold):
    rng = np.random.default_rng(100 + seed)
    boxes, scores = _random_corners(rng, 300)
    want = js_nms_ssd(boxes.tolist(), scores.tolist(), max_output, iou_threshold, score_threshold)
    got = ops.nms_ssd(boxes, scores, max_output, iou_threshold, score_threshold)
    assert got == want
    assert all(isinstance(i, int) for i in got)
    assert 0 < len(got) <= max_output


# --- sigmoid -------------------------------------------------------------------------


def test_sigmoid_matches_formula():
    x = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(ops.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert ops.sigmoid(0.0) == 0.5
    assert ops.sigmoid(np.log(3.0)) == pytest.approx(0.75, rel=1e-15)
    x32 = np.random.default_rng(1).standard_normal((2, 7, 9)).astype(np.float32) * 5
    np.testing.assert_allclose(
        ops.sigmoid(x32), 1 / (1 + np.exp(-x32.astype(np.float64))), rtol=1e-6
    )


# --- SSD's output layer --------------------------------------------------------------


def js_ssd_output(heads, anchors):
    """face-api.js's ``outputLayer`` as tfjs 1.7's CPU kernels compute it: each op in
    float32, but ``exp`` and the sigmoid in double (``Math.exp``), rounded once."""
    f32, f64, n = np.float32, np.float64, heads[0].shape[0]
    enc = np.concatenate([h.reshape(n, -1, 4) for h in heads[0::2]], axis=1)
    logits = np.concatenate([h.reshape(n, -1, 3) for h in heads[1::2]], axis=1)[:, :, 1]
    y0, x0, y1, x1 = anchors.T
    h, w = y1 - y0, x1 - x0
    cy, cx = y0 + h / f32(2), x0 + w / f32(2)
    half_h = np.exp((enc[..., 2] / f32(5)).astype(f64)).astype(f32) * h / f32(2)
    half_w = np.exp((enc[..., 3] / f32(5)).astype(f64)).astype(f32) * w / f32(2)
    mid_y, mid_x = enc[..., 0] / f32(10) * h + cy, enc[..., 1] / f32(10) * w + cx
    boxes = np.stack([mid_y - half_h, mid_x - half_w, mid_y + half_h, mid_x + half_w], axis=2)
    return boxes, (1.0 / (1.0 + np.exp(-logits.astype(f64)))).astype(f32)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_ssd_output_decodes_as_face_api_js(name):
    """The numba kernel gives tfjs's bits (its exp and sigmoid in double, as tfjs's);
    the NumPy reference's float32 exp is within a few ulps of them."""
    from faceapi_np.backend import get_backend
    from faceapi_np.errors import BackendError

    try:
        bk = get_backend(name)
    except BackendError as exc:
        pytest.skip(f"{name} backend: {exc}")
    rng = np.random.default_rng(11)
    per_cell = (3, 6, 6, 6, 6, 6)
    cells = (4, 3, 2, 2, 1, 1)
    heads = [
        (rng.standard_normal((2, c, c, a * k)) * 4).astype(np.float32)
        for c, a in zip(cells, per_cell)
        for k in (4, 3)
    ]
    heads[1][0, 0, 0, 1], heads[1][1, 0, 0, 1] = 200.0, -200.0  # exp overflows: scores 1, 0
    count = sum(c * c * a for c, a in zip(cells, per_cell))
    corner = rng.uniform(0, 0.8, (count, 2)).astype(np.float32)
    anchors = np.concatenate([corner, corner + rng.uniform(0.05, 0.2, (count, 2))], axis=1)
    anchors = anchors.astype(np.float32)
    boxes, scores = bk.ssd_output(heads, anchors, 10.0, 5.0)
    want_boxes, want_scores = js_ssd_output(heads, anchors)
    assert boxes.shape == (2, count, 4) and scores.shape == (2, count)
    assert scores[0, 0] == 1.0 and scores[1, 0] == 0.0
    if name == "numba":
        np.testing.assert_array_equal(boxes, want_boxes)
        np.testing.assert_array_equal(scores, want_scores)
    else:
        np.testing.assert_allclose(boxes, want_boxes, rtol=4e-7, atol=2.4e-7)  # 2 ulps at 1
        np.testing.assert_allclose(scores, want_scores, rtol=4e-7, atol=1e-12)
    one, _ = bk.ssd_output([h[1:] for h in heads], anchors, 10.0, 5.0)
    np.testing.assert_array_equal(one[0], boxes[1])  # the second image decoded alone
