"""The conv + PReLU trunk of MTCNN's three nets (``src/mtcnn/sharedLayers.ts``), and the
conv / dense steps every MTCNN net is built from.

Zhang et al., *Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks* (2016). Every conv is 'valid'; P-Net pools 2x2/2 after its
first conv, R-Net and O-Net pool 3x3/2 'same' after the first and 3x3/2 'valid' after
the second.
"""

from __future__ import annotations

from .. import layers
from ..tap import traced


@traced("conv {p.filters.shape[0]}x{p.filters.shape[1]} + prelu")
def conv_prelu(x, p, alpha, bk):
    """'valid' conv + bias, then PReLU with slopes ``alpha``."""
    return layers.prelu(layers.conv(x, p, bk, 1, "valid"), alpha, bk)


@traced(lambda a: "fully connected" + (" + prelu" if a["alpha"] is not None else ""))
def dense(x, p, bk, alpha=None):
    """Fully connected layer, then PReLU when ``alpha`` is given."""
    out = layers.dense(x, p, bk)
    return out if alpha is None else layers.prelu(out, alpha, bk)


def shared_layer(x, p, bk, is_pnet: bool = False, prefix: str = ""):
    """conv1, PReLU, pool, conv2, PReLU, (pool), conv3, PReLU; outputs named ``prefix...``."""
    (c1, c2, c3), (a1, a2, a3) = p.convs, p.alphas
    out = conv_prelu(x, c1, a1, bk, name=f"{prefix}conv1")
    pool = 2 if is_pnet else 3
    out = layers.max_pool(out, pool, 2, bk, "same", name=f"{prefix}pool1")
    out = conv_prelu(out, c2, a2, bk, name=f"{prefix}conv2")
    if not is_pnet:
        out = layers.max_pool(out, 3, 2, bk, "valid", name=f"{prefix}pool2")
    return conv_prelu(out, c3, a3, bk, name=f"{prefix}conv3")


def face_probability(logits, bk, axis: int):
    """Softmax of the two logits (not face, face), face-api.js subtracting the max first."""
    return layers.softmax(logits, bk, axis=axis)
