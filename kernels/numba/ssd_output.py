"""SSD's output layer: the heads' box encodings decoded against the anchors, and the scores.

Computes, for every image and anchor, the box ``(mid_y - half_h, mid_x - half_w, mid_y +
half_h, mid_x + half_w)`` with ``mid_y = ty / center_scale * h + cy`` and ``half_h =
exp(th / size_scale) * h / 2`` (and so for x), ``(ty, tx, th, tw)`` the anchor's
encodings, ``(cy, cx)`` and ``(h, w)`` its centre and size; and the face score
``sigmoid(logit of class 1)``. NumPy reference: :func:`faceapi_np.ops.ssd_output`
(``Backend.ssd_output``), which joins the 12 heads' outputs along the anchors and
decodes them in whole-array passes.

Why a kernel: 5118 anchors are little arithmetic, but after the convs NumPy's ~25
calls ran cold: in SSD's planned sequence (one process, medians of 40) joining the
heads and decoding them took 265-269 us, and the forward plan's copies of the 12 head
outputs it returned 49-59 us. This kernel reads each head where its conv left it and
writes the boxes and scores into one buffer, the plan's two outputs: 63-68 us, each of
the two threads a run of the anchors (102 us on one; the three ``exp`` in double an
anchor are two thirds of it).

Rounding: each operation in float32 in the reference's order (no fused multiply-adds),
but ``exp``, which is computed as face-api.js's tfjs CPU kernels compute it, in double
(``Math.exp``) and rounded once to float32, and the sigmoid likewise (tfjs: ``1 / (1 +
Math.exp(-x))`` in double). NumPy's float32 ``exp`` is a vectorised approximation, one
ulp off the rounded double in ~40% of values (uniform inputs in [-20, 20]), so this
kernel's boxes and scores differ from the NumPy backend's by an ulp there; from the
same heads, they are face-api.js's output layer's bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(inline="always")
def _head(box, cls, anchors, first, lo, hi, center_scale, size_scale, boxes, scores):
    """One head's anchors that fall in ``lo .. hi`` (of the joined ones; the head's are
    ``first ..``): ``box`` (N, anchors * 4), ``cls`` (N, anchors * 3). Returns the anchor
    after the head's last."""
    two = np.float32(2.0)
    count = box.shape[1] // 4
    for b in range(box.shape[0]):
        for j in range(max(0, lo - first), min(count, hi - first)):
            i = first + j
            y0, x0, y1, x1 = anchors[i, 0], anchors[i, 1], anchors[i, 2], anchors[i, 3]
            h, w = y1 - y0, x1 - x0
            cy, cx = y0 + h / two, x0 + w / two
            ty, tx = box[b, 4 * j], box[b, 4 * j + 1]
            th, tw = box[b, 4 * j + 2], box[b, 4 * j + 3]
            half_h = np.float32(math.exp(np.float64(th / size_scale))) * h / two
            mid_y = ty / center_scale * h + cy
            half_w = np.float32(math.exp(np.float64(tw / size_scale))) * w / two
            mid_x = tx / center_scale * w + cx
            boxes[b, i, 0] = mid_y - half_h
            boxes[b, i, 1] = mid_x - half_w
            boxes[b, i, 2] = mid_y + half_h
            boxes[b, i, 3] = mid_x + half_w
            logit = np.float64(cls[b, 3 * j + 1])
            scores[b, i] = np.float32(1.0 / (1.0 + math.exp(-logit)))
    return first + count


@njit(parallel=True, nogil=True, cache=True)
def ssd_output(b0, c0, b1, c1, b2, c2, b3, c3, b4, c4, b5, c5, anchors, cs, ss, nthreads, out):
    """``out`` (N * A * 5,): the boxes (N, A, 4), then the scores (N, A), of the six heads'
    box encodings ``b0`` .. ``b5`` (N, anchors * 4) and class logits ``c0`` .. ``c5`` (N,
    anchors * 3) against ``anchors`` (A, 4); ``cs``, ``ss`` the float32 centre and size
    scales. Each of ``nthreads`` threads takes a run of the anchors. The heads are separate
    arguments (not a tuple), so that a forward plan sees each array a step reads."""
    n, a = b0.shape[0], anchors.shape[0]
    boxes = out[: n * a * 4].reshape(n, a, 4)
    scores = out[n * a * 4 :].reshape(n, a)
    for t in prange(nthreads):
        lo, hi = t * a // nthreads, (t + 1) * a // nthreads
        i = _head(b0, c0, anchors, 0, lo, hi, cs, ss, boxes, scores)
        i = _head(b1, c1, anchors, i, lo, hi, cs, ss, boxes, scores)
        i = _head(b2, c2, anchors, i, lo, hi, cs, ss, boxes, scores)
        i = _head(b3, c3, anchors, i, lo, hi, cs, ss, boxes, scores)
        i = _head(b4, c4, anchors, i, lo, hi, cs, ss, boxes, scores)
        _head(b5, c5, anchors, i, lo, hi, cs, ss, boxes, scores)
    return out
