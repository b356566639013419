"""R-Net, MTCNN's refinement net (``src/mtcnn/RNet.ts``) on 24x24 patches."""

from __future__ import annotations

from .shared_layers import dense, face_probability, shared_layer


def rnet(x, p, bk):
    """x (N, 24, 24, 3) -> face probability (N,) and box regressions (N, 4)."""
    out = shared_layer(x, p.trunk, bk, prefix="rnet/")
    out = out.reshape(out.shape[0], -1)  # NHWC order, as tf.reshape
    out = dense(out, p.fc1, bk, alpha=p.prelu4_alpha, name="rnet/fc1")
    logits = dense(out, p.fc2_1, bk, name="rnet/fc2_1")
    regions = dense(out, p.fc2_2, bk, name="rnet/fc2_2")
    return face_probability(logits, bk, axis=1)[:, 1], regions
