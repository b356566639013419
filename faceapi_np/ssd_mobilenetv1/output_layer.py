"""Decode SSD box encodings against the anchors (``src/ssdMobilenetv1/outputLayer.ts``).

The TF object detection API's ``FasterRcnnBoxCoder`` with scales (10, 10, 5, 5): an
encoding ``(ty, tx, th, tw)`` relative to an anchor with centre ``(cy, cx)`` and size
``(h, w)`` decodes to centre ``(ty / 10 * h + cy, tx / 10 * w + cx)`` and half-size
``(exp(th / 5) * h / 2, exp(tw / 5) * w / 2)``. Scores are the sigmoid of class 1's logit.
The arithmetic is the backend's ``ssd_output`` op (NumPy: :func:`faceapi_np.ops.ssd_output`,
in face-api.js's order of float32 operations).
"""

from __future__ import annotations

from .const import CENTER_SCALE, SIZE_SCALE


def output_layer(heads, params, bk):
    """Decoded boxes and face scores for every anchor.

    Parameters
    ----------
    heads : tuple of 12 arrays, :func:`~.prediction_layer.prediction_layer`'s: each
        head's box encodings (N, anchors, 1, 4) then its class logits (N, anchors, 3)
    params : OutputLayerParams

    Returns
    -------
    boxes : array, shape (N, 5118, 4), relative (y_min, x_min, y_max, x_max)
    scores : array, shape (N, 5118)
    """
    anchors = params.extra_dim.reshape(-1, 4)
    return bk.ssd_output(heads, anchors, CENTER_SCALE, SIZE_SCALE)
