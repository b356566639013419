"""The face feature extractor: dense blocks and a global average pool (``FaceFeatureExtractor.ts``).

The face crop batch (112x112, padded centred) is centred on a mean RGB and divided by
255, goes through the dense blocks (each halving the resolution) and is averaged over
the final 7x7 (tiny: 14x14) map, giving one feature vector per face for a classifier.
"""

from __future__ import annotations

from .. import layers
from .const import INPUT_DIVISOR, MEAN_RGB
from .dense_block import dense_block


def extract_features(x, blocks, bk):
    """(N, C) features of an (N, 112, 112, 3) batch of RGB values 0..255."""
    out = x
    for i, block in enumerate(blocks):
        # the first block's first conv normalises the pixels as it reads them
        norm = layers.rgb_norm(MEAN_RGB, INPUT_DIVISOR) if i == 0 else None
        out = dense_block(out, block, bk, input_norm=norm, name=f"dense{i}")
    # tf.avgPool over the whole 7x7 (tiny: 14x14) map: a global mean
    k = out.shape[1]
    out = layers.avg_pool(out, k, 2, bk, "valid", name="avg_pool")
    return out.reshape(out.shape[0], -1)
