"""Decode SSD box encodings against the anchors (``src/ssdMobilenetv1/outputLayer.ts``).

The TF object detection API's ``FasterRcnnBoxCoder`` with scales (10, 10, 5, 5): an
encoding ``(ty, tx, th, tw)`` relative to an anchor with centre ``(cy, cx)`` and size
``(h, w)`` decodes to centre ``(ty / 10 * h + cy, tx / 10 * w + cx)`` and half-size
``(exp(th / 5) * h / 2, exp(tw / 5) * w / 2)``. Scores are the sigmoid of class 1's logit.
The order of float32 operations follows face-api.js so that rounding agrees.
"""

from __future__ import annotations

from .. import layers
from .const import CENTER_SCALE, SIZE_SCALE


def decode_boxes(anchors, encodings, bk):
    """Boxes ``(y_min, x_min, y_max, x_max)`` from anchors and encodings, both (K, 4)."""
    xp = bk.xp
    f32 = xp.float32
    sizes0 = anchors[:, 2] - anchors[:, 0]
    sizes1 = anchors[:, 3] - anchors[:, 1]
    centers0 = anchors[:, 0] + sizes0 / f32(2)
    centers1 = anchors[:, 1] + sizes1 / f32(2)
    half0 = xp.exp(encodings[:, 2] / f32(SIZE_SCALE)) * sizes0 / f32(2)
    mid0 = encodings[:, 0] / f32(CENTER_SCALE) * sizes0 + centers0
    half1 = xp.exp(encodings[:, 3] / f32(SIZE_SCALE)) * sizes1 / f32(2)
    mid1 = encodings[:, 1] / f32(CENTER_SCALE) * sizes1 + centers1
    return xp.stack([mid0 - half0, mid1 - half1, mid0 + half0, mid1 + half1], axis=1)


def output_layer(box_predictions, class_predictions, params, bk):
    """Decoded boxes and face scores for every anchor.

    Parameters
    ----------
    box_predictions : array, shape (N, 5118, 1, 4)
    class_predictions : array, shape (N, 5118, 3)
    params : OutputLayerParams

    Returns
    -------
    boxes : array, shape (N, 5118, 4), relative (y_min, x_min, y_max, x_max)
    scores : array, shape (N, 5118)
    """
    n = box_predictions.shape[0]
    anchors = bk.xp.tile(params.extra_dim.reshape(-1, 4), (n, 1))
    boxes = decode_boxes(anchors, box_predictions.reshape(-1, 4), bk).reshape(n, -1, 4)
    scores = layers.sigmoid(class_predictions[:, :, 1], bk)
    return boxes, scores
