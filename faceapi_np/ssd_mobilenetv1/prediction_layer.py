"""SSD's extra feature maps and box predictors (``predictionLayer.ts``, ``boxPredictionLayer.ts``).

Liu et al., *SSD: Single Shot MultiBox Detector* (2016). Eight more convs shrink the
16x16 backbone output to 8, 4, 2 and 1 cells; six heads (on conv11, the backbone
output and every second extra conv) predict, per anchor, 4 box encodings and 3 class
logits. Anchors per cell: 3 on the 32x32 map, 6 elsewhere, 5118 in all.
"""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP
from .mobilenet_v1 import pointwise_conv_layer


def box_prediction_layer(x, p, bk):
    """One head: ``(N, cells*anchors, 1, 4)`` box encodings and ``(N, cells*anchors, 3)`` logits."""
    n = x.shape[0]
    box = layers.conv2d(
        x,
        p.box_encoding_predictor.filters,
        p.box_encoding_predictor.bias,
        bk,
        1,
        "same",
    )
    cls = layers.conv2d(x, p.class_predictor.filters, p.class_predictor.bias, bk, 1, "same")
    return box, cls, box.reshape(n, -1, 1, 4), cls.reshape(n, -1, 3)


def prediction_layer(x, conv11, params, bk, tap=NO_TAP):
    """Extra feature convs plus the six heads.

    Parameters
    ----------
    x : array, shape (N, 16, 16, 1024), the backbone output
    conv11 : array, shape (N, 32, 32, 512)
    params : PredictionLayerParams

    Returns
    -------
    box_predictions : array, shape (N, 5118, 1, 4)
    class_predictions : array, shape (N, 5118, 3)
    """
    feats, out = [conv11, x], x
    for idx, p in enumerate(params.convs):
        stride = 2 if idx % 2 else 1  # conv_1, 3, 5, 7 halve the map
        k = p.filters.shape[0]
        out = tap(
            f"prediction_layer/conv_{idx}",
            f"conv {k}x{k}/{stride} + offset + relu6",
            pointwise_conv_layer(out, p, bk, stride),
            p,
        )
        if idx % 2:
            feats.append(out)
    boxes, classes = [], []
    for i, (f, p) in enumerate(zip(feats, params.box_predictors)):
        box, cls, box_flat, cls_flat = box_prediction_layer(f, p, bk)
        tap(
            f"prediction_layer/box_predictor_{i}/box_encoding_predictor",
            "conv 1x1 + bias",
            box,
            p.box_encoding_predictor,
        )
        tap(
            f"prediction_layer/box_predictor_{i}/class_predictor",
            "conv 1x1 + bias",
            cls,
            p.class_predictor,
        )
        boxes.append(box_flat)
        classes.append(cls_flat)
    xp = bk.xp
    return xp.concatenate(boxes, axis=1), xp.concatenate(classes, axis=1)
