"""R-Net, MTCNN's refinement net (``src/mtcnn/RNet.ts``) on 24x24 patches."""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP
from .shared_layers import face_probability, shared_layer


def rnet(x, p, bk, tap=NO_TAP):
    """x (N, 24, 24, 3) -> face probability (N,) and box regressions (N, 4)."""
    out = shared_layer(x, p.trunk, bk, tap=tap, prefix="rnet/")
    out = out.reshape(out.shape[0], -1)  # NHWC order, as tf.reshape
    out = tap(
        "rnet/fc1",
        "fully connected + prelu",
        layers.prelu(
            layers.fully_connected(out, p.fc1.weights, p.fc1.bias, bk),
            p.prelu4_alpha,
            bk,
        ),
        p.fc1,
    )
    logits = tap(
        "rnet/fc2_1",
        "fully connected",
        layers.fully_connected(out, p.fc2_1.weights, p.fc2_1.bias, bk),
        p.fc2_1,
    )
    regions = tap(
        "rnet/fc2_2",
        "fully connected",
        layers.fully_connected(out, p.fc2_2.weights, p.fc2_2.bias, bk),
        p.fc2_2,
    )
    return face_probability(logits, bk, axis=1)[:, 1], regions
