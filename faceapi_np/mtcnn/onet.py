"""O-Net, MTCNN's output net (``src/mtcnn/ONet.ts``) on 48x48 patches: score, box, 5 points."""

from __future__ import annotations

from .. import layers
from ..net import NO_TAP
from .shared_layers import face_probability, shared_layer


def onet(x, p, bk, tap=NO_TAP):
    """x (N, 48, 48, 3) -> probability (N,), regressions (N, 4), points (N, 10) as x0..x4, y0..y4."""
    out = shared_layer(x, p.trunk, bk, tap=tap, prefix="onet/")
    out = tap("onet/pool3", "max pool 2x2/2", layers.max_pool(out, 2, 2, bk, "same"))
    out = tap(
        "onet/conv4",
        "conv 2x2 + prelu",
        layers.prelu(
            layers.conv2d(out, p.conv4.filters, p.conv4.bias, bk, 1, "valid"),
            p.prelu4_alpha,
            bk,
        ),
        p.conv4,
    )
    out = out.reshape(out.shape[0], -1)
    out = tap(
        "onet/fc1",
        "fully connected + prelu",
        layers.prelu(
            layers.fully_connected(out, p.fc1.weights, p.fc1.bias, bk),
            p.prelu5_alpha,
            bk,
        ),
        p.fc1,
    )
    logits = tap(
        "onet/fc2_1",
        "fully connected",
        layers.fully_connected(out, p.fc2_1.weights, p.fc2_1.bias, bk),
        p.fc2_1,
    )
    regions = tap(
        "onet/fc2_2",
        "fully connected",
        layers.fully_connected(out, p.fc2_2.weights, p.fc2_2.bias, bk),
        p.fc2_2,
    )
    points = tap(
        "onet/fc2_3",
        "fully connected",
        layers.fully_connected(out, p.fc2_3.weights, p.fc2_3.bias, bk),
        p.fc2_3,
    )
    return face_probability(logits, bk, axis=1)[:, 1], regions, points
