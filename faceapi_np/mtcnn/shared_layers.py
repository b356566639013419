"""The conv + PReLU trunk of MTCNN's three nets (``src/mtcnn/sharedLayers.ts``).

Zhang et al., *Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks* (2016). Every conv is 'valid'; P-Net pools 2x2/2 after its
first conv, R-Net and O-Net pool 3x3/2 'same' after the first and 3x3/2 'valid' after
the second.
"""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP


def shared_layer(x, p, bk, is_pnet: bool = False, tap=NO_TAP, prefix: str = ""):
    """conv1, PReLU, pool, conv2, PReLU, (pool), conv3, PReLU."""
    (c1, c2, c3), (a1, a2, a3) = p.convs, p.alphas
    k = c1.filters.shape[0]
    out = tap(
        f"{prefix}conv1",
        f"conv {k}x{k} + prelu",
        layers.prelu(layers.conv2d(x, c1.filters, c1.bias, bk, 1, "valid"), a1, bk),
        c1,
    )
    pool = 2 if is_pnet else 3
    out = tap(
        f"{prefix}pool1",
        f"max pool {pool}x{pool}/2",
        layers.max_pool(out, pool, 2, bk, "same"),
    )
    out = tap(
        f"{prefix}conv2",
        "conv 3x3 + prelu",
        layers.prelu(layers.conv2d(out, c2.filters, c2.bias, bk, 1, "valid"), a2, bk),
        c2,
    )
    if not is_pnet:
        out = tap(
            f"{prefix}pool2",
            "max pool 3x3/2 valid",
            layers.max_pool(out, 3, 2, bk, "valid"),
        )
    k = c3.filters.shape[0]
    return tap(
        f"{prefix}conv3",
        f"conv {k}x{k} + prelu",
        layers.prelu(layers.conv2d(out, c3.filters, c3.bias, bk, 1, "valid"), a3, bk),
        c3,
    )


def face_probability(logits, bk, axis: int):
    """Softmax of the two logits (not face, face), face-api.js subtracting the max first."""
    return layers.softmax(logits, bk, axis=axis)
