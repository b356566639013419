"""SSD's extra feature maps and box predictors (``predictionLayer.ts``, ``boxPredictionLayer.ts``).

Liu et al., *SSD: Single Shot MultiBox Detector* (2016). Eight more convs shrink the
16x16 backbone output to 8, 4, 2 and 1 cells; six heads (on conv11, the backbone
output and every second extra conv) predict, per anchor, 4 box encodings and 3 class
logits. Anchors per cell: 3 on the 32x32 map, 6 elsewhere, 5118 in all.
"""

from __future__ import annotations

from .. import layers
from .mobilenet_v1 import pointwise_conv_layer


def prediction_layer(x, conv11, params, bk):
    """Extra feature convs plus the six heads.

    Parameters
    ----------
    x : array, shape (N, 16, 16, 1024), the backbone output
    conv11 : array, shape (N, 32, 32, 512)
    params : PredictionLayerParams

    Returns
    -------
    heads : tuple of 12 arrays, each head's box encodings (N, anchors, 1, 4) then its
        class logits (N, anchors, 3), from the 32x32 map to the 1x1 one: 5118 anchors in
        all (the output layer joins them)
    """
    feats, out = [conv11, x], x
    for idx, p in enumerate(params.convs):
        stride = 2 if idx % 2 else 1  # conv_1, 3, 5, 7 halve the map
        out = pointwise_conv_layer(out, p, bk, stride, name=f"prediction_layer/conv_{idx}")
        if idx % 2:
            feats.append(out)
    n, heads = x.shape[0], []
    for i, (f, p) in enumerate(zip(feats, params.box_predictors)):
        # one head: per anchor of every cell, 4 box encodings and 3 class logits
        name = f"prediction_layer/box_predictor_{i}"
        box = layers.conv(f, p.box_encoding_predictor, bk, name=f"{name}/box_encoding_predictor")
        cls = layers.conv(f, p.class_predictor, bk, name=f"{name}/class_predictor")
        heads += [box.reshape(n, -1, 1, 4), cls.reshape(n, -1, 3)]
    return tuple(heads)
