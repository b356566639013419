"""P-Net, MTCNN's proposal net (``src/mtcnn/PNet.ts``): fully convolutional on a pyramid level.

Each output cell covers a 12x12 window of the (transposed, BGR, normalised) level with
stride 2 and gives the probability of a face there and a box regression.
"""

from __future__ import annotations

from .. import layers
from .shared_layers import face_probability, shared_layer


def pnet(x, p, bk):
    """x (N, W', H', 3) -> face probability (N, w, h) and regressions (N, w, h, 4)."""
    out = shared_layer(x, p.trunk, bk, is_pnet=True, prefix="pnet/")
    logits = layers.conv(out, p.conv4_1, bk, 1, "valid", name="pnet/conv4_1")
    regions = layers.conv(out, p.conv4_2, bk, 1, "valid", name="pnet/conv4_2")
    return face_probability(logits, bk, axis=3)[..., 1], regions
