"""P-Net, MTCNN's proposal net (``src/mtcnn/PNet.ts``): fully convolutional on a pyramid level.

Each output cell covers a 12x12 window of the (transposed, BGR, normalised) level with
stride 2 and gives the probability of a face there and a box regression.
"""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP
from .shared_layers import face_probability, shared_layer


def pnet(x, p, bk, tap=NO_TAP):
    """x (N, W', H', 3) -> face probability (N, w, h) and regressions (N, w, h, 4)."""
    out = shared_layer(x, p.trunk, bk, is_pnet=True, tap=tap, prefix="pnet/")
    logits = tap(
        "pnet/conv4_1",
        "conv 1x1",
        layers.conv2d(out, p.conv4_1.filters, p.conv4_1.bias, bk, 1, "valid"),
        p.conv4_1,
    )
    regions = tap(
        "pnet/conv4_2",
        "conv 1x1",
        layers.conv2d(out, p.conv4_2.filters, p.conv4_2.bias, bk, 1, "valid"),
        p.conv4_2,
    )
    return face_probability(logits, bk, axis=3)[..., 1], regions
