"""The conv + PReLU trunk of MTCNN's three nets (``src/mtcnn/sharedLayers.ts``), and the
conv / dense steps every MTCNN net is built from.

Zhang et al., *Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks* (2016). Every conv is 'valid'; P-Net pools 2x2/2 after its
first conv, R-Net and O-Net pool 3x3/2 'same' after the first and 3x3/2 'valid' after
the second.
"""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP


def conv_prelu(x, p, alpha, bk, tap, name: str):
    """'valid' conv + bias, then PReLU with slopes ``alpha``; recorded as ``name``."""
    k = p.filters.shape[0]
    out = layers.prelu(layers.conv2d(x, p.filters, p.bias, bk, 1, "valid"), alpha, bk)
    return tap(name, f"conv {k}x{k} + prelu", out, p)


def dense(x, p, bk, tap, name: str, alpha=None):
    """Fully connected layer, then PReLU when ``alpha`` is given; recorded as ``name``."""
    out = layers.fully_connected(x, p.weights, p.bias, bk)
    if alpha is None:
        return tap(name, "fully connected", out, p)
    return tap(name, "fully connected + prelu", layers.prelu(out, alpha, bk), p)


def shared_layer(x, p, bk, is_pnet: bool = False, tap=NO_TAP, prefix: str = ""):
    """conv1, PReLU, pool, conv2, PReLU, (pool), conv3, PReLU."""
    (c1, c2, c3), (a1, a2, a3) = p.convs, p.alphas
    out = conv_prelu(x, c1, a1, bk, tap, f"{prefix}conv1")
    pool = 2 if is_pnet else 3
    out = tap(
        f"{prefix}pool1",
        f"max pool {pool}x{pool}/2",
        layers.max_pool(out, pool, 2, bk, "same"),
    )
    out = conv_prelu(out, c2, a2, bk, tap, f"{prefix}conv2")
    if not is_pnet:
        out = tap(
            f"{prefix}pool2",
            "max pool 3x3/2 valid",
            layers.max_pool(out, 3, 2, bk, "valid"),
        )
    return conv_prelu(out, c3, a3, bk, tap, f"{prefix}conv3")


def face_probability(logits, bk, axis: int):
    """Softmax of the two logits (not face, face), face-api.js subtracting the max first."""
    return layers.softmax(logits, bk, axis=axis)
