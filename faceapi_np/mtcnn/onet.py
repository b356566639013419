"""O-Net, MTCNN's output net (``src/mtcnn/ONet.ts``) on 48x48 patches: score, box, 5 points."""

from __future__ import annotations

from .. import layers
from .shared_layers import conv_prelu, dense, face_probability, shared_layer


def onet(x, p, bk):
    """x (N, 48, 48, 3) -> probability (N,), regressions (N, 4), points (N, 10) as x0..x4, y0..y4."""
    out = shared_layer(x, p.trunk, bk, prefix="onet/")
    out = layers.max_pool(out, 2, 2, bk, "same", name="onet/pool3")
    out = conv_prelu(out, p.conv4, p.prelu4_alpha, bk, name="onet/conv4")
    out = out.reshape(out.shape[0], -1)  # NHWC order, as tf.reshape
    out = dense(out, p.fc1, bk, alpha=p.prelu5_alpha, name="onet/fc1")
    logits = dense(out, p.fc2_1, bk, name="onet/fc2_1")
    regions = dense(out, p.fc2_2, bk, name="onet/fc2_2")
    points = dense(out, p.fc2_3, bk, name="onet/fc2_3")
    return face_probability(logits, bk, axis=1)[:, 1], regions, points
