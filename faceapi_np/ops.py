"""Geometry and post-processing shared by the nets: padding, resizing, sigmoid, SSD's box
decoding, IoU, NMS.

Each function reproduces the face-api.js 0.22.2 / tfjs-core 1.7 operation named in its
docstring, including its quirks, so that boxes and scores come out equal to face-api.js's.
Arithmetic that face-api.js does in JavaScript numbers (doubles) is done here in float64.
"""

from __future__ import annotations

import math

import numpy as np

from .backend.geometry import square_placement


def pad_to_square(x, center: bool = False, xp=np):
    """Zero-pad a batch of images to a square, as face-api.js ``padToSquare`` does.

    Mirrors ``src/ops/padToSquare.ts``: the shorter side gets ``round(diff * 0.5)`` (when
    ``center``) or ``diff`` zero rows/columns appended at its end, and the remainder, if
    any, prepended. JavaScript's ``Math.round`` rounds halves up, hence ``(diff + 1) // 2``.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    center : bool

    Returns
    -------
    array, shape (N, S, S, C) with S = max(H, W), float32
    """
    n, h, w, c = x.shape
    if h == w:
        return x.astype(xp.float32, copy=False)
    side, off_y, off_x = square_placement(h, w, center)
    out = xp.zeros((n, side, side, c), dtype=xp.float32)
    out[:, off_y : off_y + h, off_x : off_x + w] = x
    return out


def resize_bilinear(x, new_h: int, new_w: int, xp=np):
    """Bilinear resize equal to tfjs-core 1.7's CPU ``tf.image.resizeBilinear``.

    ``alignCorners=false`` and no half-pixel centres: output pixel ``r`` samples source
    row ``r * H / new_h``; neighbours are ``floor`` and ``min(ceil, H - 1)``. tfjs does
    the interpolation in doubles and stores float32; so do we, which makes the result
    bit-identical.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    new_h, new_w : int

    Returns
    -------
    array, shape (N, new_h, new_w, C), float32
    """
    n, h, w, c = x.shape
    src = x.astype(xp.float64, copy=False)
    fy = (h / new_h) * xp.arange(new_h, dtype=xp.float64)
    fx = (w / new_w) * xp.arange(new_w, dtype=xp.float64)
    y0 = xp.floor(fy).astype(xp.int64)
    x0 = xp.floor(fx).astype(xp.int64)
    y1 = xp.minimum(h - 1, xp.ceil(fy).astype(xp.int64))
    x1 = xp.minimum(w - 1, xp.ceil(fx).astype(xp.int64))
    dy = (fy - y0)[None, :, None, None]
    dx = (fx - x0)[None, None, :, None]
    top = src[:, y0]
    bot = src[:, y1]
    top = top[:, :, x0] + (top[:, :, x1] - top[:, :, x0]) * dx
    bot = bot[:, :, x0] + (bot[:, :, x1] - bot[:, :, x0]) * dx
    return (top + (bot - top) * dy).astype(xp.float32)


def sigmoid(x, xp=np):
    """Logistic function ``1 / (1 + exp(-x))`` (face-api.js ``ops.sigmoid``, TF ``tf.sigmoid``)."""
    with np.errstate(over="ignore"):  # exp overflow gives inf and the right answer, 0
        return 1.0 / (1.0 + xp.exp(-x))


def ssd_output(heads, anchors, center_scale, size_scale, xp=np):
    """SSD's output layer (face-api.js ``outputLayer.ts``): boxes and face scores.

    ``heads``: each head's box encodings then its class logits (12 arrays, the first
    axis the batch; per anchor 4 encodings / 3 logits, anchors in order), joined along
    the anchors; ``anchors`` (A, 4) (y_min, x_min, y_max, x_max). The TF object
    detection API's ``FasterRcnnBoxCoder``: an encoding ``(ty, tx, th, tw)`` of an
    anchor with centre ``(cy, cx)`` and size ``(h, w)`` is the box with centre ``(ty /
    center_scale * h + cy, ...)`` and half-size ``(exp(th / size_scale) * h / 2, ...)``.
    The score is the sigmoid of class 1's logit. Each float32 operation in face-api.js's
    order. Returns boxes (N, A, 4), relative, and scores (N, A).
    """
    n, f32 = heads[0].shape[0], xp.float32
    enc = xp.concatenate([h.reshape(n, -1, 4) for h in heads[0::2]], axis=1).reshape(-1, 4)
    logits = xp.concatenate([h.reshape(n, -1, 3) for h in heads[1::2]], axis=1)
    anchors = xp.tile(anchors, (n, 1))
    sizes0 = anchors[:, 2] - anchors[:, 0]
    sizes1 = anchors[:, 3] - anchors[:, 1]
    centers0 = anchors[:, 0] + sizes0 / f32(2)
    centers1 = anchors[:, 1] + sizes1 / f32(2)
    half0 = xp.exp(enc[:, 2] / f32(size_scale)) * sizes0 / f32(2)
    mid0 = enc[:, 0] / f32(center_scale) * sizes0 + centers0
    half1 = xp.exp(enc[:, 3] / f32(size_scale)) * sizes1 / f32(2)
    mid1 = enc[:, 1] / f32(center_scale) * sizes1 + centers1
    boxes = xp.stack([mid0 - half0, mid1 - half1, mid0 + half0, mid1 + half1], axis=1)
    return boxes.reshape(n, -1, 4), sigmoid(logits[:, :, 1], xp)


def js_round(v):
    """JavaScript's ``Math.round``: halves go up, towards +infinity (``-2.5 -> -2``).

    Python's ``round`` rounds halves to even, so face-api.js's integer boxes and sizes
    need this. A Python number gives an int; an array gives float64 whole numbers.
    """
    if isinstance(v, np.ndarray):
        return np.floor(v.astype(np.float64) + 0.5)
    return math.floor(v + 0.5)


def iou(box1, box2, use_iou: bool = True) -> float:
    """Intersection over union (or over the smaller area) of two boxes.

    Mirrors face-api.js ``src/ops/iou.ts`` on its ``Box`` class, whose ``right`` is
    ``x + width`` and ``area`` is ``width * height``; boxes are ``(x, y, width, height)``.
    With ``use_iou=False`` the intersection is divided by the smaller area (MTCNN's
    'Min' variant).
    """
    return float(
        _iou_one_to_many(np.asarray(box1, np.float64), np.asarray([box2], np.float64), use_iou)[0]
    )


def _iou_one_to_many(box, others, use_iou: bool):
    """Vectorised :func:`iou` of one ``(x, y, w, h)`` box against many, in float64."""
    w = np.maximum(
        0.0,
        np.minimum(box[0] + box[2], others[:, 0] + others[:, 2]) - np.maximum(box[0], others[:, 0]),
    )
    h = np.maximum(
        0.0,
        np.minimum(box[1] + box[3], others[:, 1] + others[:, 3]) - np.maximum(box[1], others[:, 1]),
    )
    inter = w * h
    a1 = box[2] * box[3]
    a2 = others[:, 2] * others[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (a1 + a2 - inter) if use_iou else inter / np.minimum(a1, a2)


def nms(boxes, scores, iou_threshold: float, use_iou: bool = True) -> list[int]:
    """Greedy non-maximum suppression, face-api.js's generic version.

    Mirrors ``src/ops/nonMaxSuppression.ts`` (used by the Tiny Face Detector and MTCNN):
    repeatedly take the highest-scoring box, keep it, and drop every remaining box whose
    IoU with it exceeds ``iou_threshold``. Among equal scores the highest index comes first
    (face-api.js sorts ascending, stably, then pops from the end).

    Parameters
    ----------
    boxes : array, shape (K, 4), (x, y, width, height)
    scores : array, shape (K,)

    Returns
    -------
    list of int, indices of the kept boxes, best first
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="stable")[::-1]  # best first; ties: highest index first
    pick = []
    while order.size:
        cur = order[0]
        pick.append(int(cur))
        rest = order[1:]
        order = rest[_iou_one_to_many(boxes[cur], boxes[rest], use_iou) <= iou_threshold]
    return pick


def nms_ssd(boxes, scores, max_output: int, iou_threshold: float, score_threshold: float):
    """SSD's non-maximum suppression, as face-api.js 0.22.2 runs it.

    Mirrors ``src/ssdMobilenetv1/nonMaxSuppression.ts``: candidates with
    ``score > score_threshold`` in descending score order (ties keep index order); a
    candidate survives unless its IoU with an already selected box exceeds
    ``iou_threshold``; at most ``max_output`` boxes. IoU here normalises each box's
    corners first (``min``/``max``) and counts boxes of non-positive area as IoU 0.

    Parameters
    ----------
    boxes : array, shape (K, 4), (y_min, x_min, y_max, x_max)
    scores : array, shape (K,)

    Returns
    -------
    list of int, selected indices in selection order
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    ymin, xmin = np.minimum(b[:, 0], b[:, 2]), np.minimum(b[:, 1], b[:, 3])
    ymax, xmax = np.maximum(b[:, 0], b[:, 2]), np.maximum(b[:, 1], b[:, 3])
    area = (ymax - ymin) * (xmax - xmin)
    cand = np.nonzero(s > score_threshold)[0]
    cand = cand[np.argsort(-s[cand], kind="stable")]
    limit = min(max_output, len(b))
    selected: list[int] = []
    for i in cand:
        if len(selected) >= limit:
            break
        if selected and area[i] > 0:
            j = np.asarray(selected)
            ih = np.maximum(np.minimum(ymax[i], ymax[j]) - np.maximum(ymin[i], ymin[j]), 0.0)
            iw = np.maximum(np.minimum(xmax[i], xmax[j]) - np.maximum(xmin[i], xmin[j]), 0.0)
            inter = ih * iw
            with np.errstate(divide="ignore", invalid="ignore"):
                ious = np.where(area[j] > 0, inter / (area[i] + area[j] - inter), 0.0)
            if (ious > iou_threshold).any():
                continue
        selected.append(int(i))
    return selected
