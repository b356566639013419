"""FaceRecognitionNet parameters (face-api.js ``src/faceRecognitionNet/extractParamsFromWeigthMap.ts``).

Every conv layer is ``<name>/conv/{filters, bias}`` followed by a per-channel affine
``<name>/scale/{weights, biases}`` (dlib's batch norm folded into a scale layer).
Residual blocks have ``conv1`` and ``conv2``; the classifier ``fc`` is (256, 128), no bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import ConvParams, ParamReader, take_conv

#: Residual blocks in order: (name, downsamples?) — dlib's ResNet-34-like 'metric' net.
RESIDUAL_BLOCKS = (
    ("conv32_1", False),
    ("conv32_2", False),
    ("conv32_3", False),
    ("conv64_down", True),
    ("conv64_1", False),
    ("conv64_2", False),
    ("conv64_3", False),
    ("conv128_down", True),
    ("conv128_1", False),
    ("conv128_2", False),
    ("conv256_down", True),
    ("conv256_1", False),
    ("conv256_2", False),
    ("conv256_down_out", True),
)


@dataclass
class ScaleParams:
    """Per-channel affine ``x * weights + biases``."""

    weights: np.ndarray
    biases: np.ndarray


@dataclass
class ConvLayerParams:
    """A conv with bias followed by a scale layer."""

    conv: ConvParams
    scale: ScaleParams


@dataclass
class ResidualParams:
    """A residual block: two conv layers."""

    conv1: ConvLayerParams
    conv2: ConvLayerParams


@dataclass
class FaceRecognitionParams:
    """The whole FaceRecognitionNet param tree."""

    conv32_down: ConvLayerParams
    residuals: list  # ResidualParams, in RESIDUAL_BLOCKS order
    fc: np.ndarray  # (256, 128)


def _conv_layer(r: ParamReader, prefix: str, k: int, cin: int) -> ConvLayerParams:
    conv = take_conv(r, f"{prefix}/conv", k, cin, None)
    c = conv.filters.shape[3]
    return ConvLayerParams(
        conv,
        ScaleParams(
            r.take(f"{prefix}/scale/weights", (c,)),
            r.take(f"{prefix}/scale/biases", (c,)),
        ),
    )


def extract_params(r: ParamReader) -> FaceRecognitionParams:
    """Build the param tree, chaining channel counts and checking every shape."""
    first = _conv_layer(r, "conv32_down", 7, 3)
    blocks, c = [], first.conv.filters.shape[3]
    for name, _ in RESIDUAL_BLOCKS:
        conv1 = _conv_layer(r, f"{name}/conv1", 3, c)
        c = conv1.conv.filters.shape[3]
        blocks.append(ResidualParams(conv1, _conv_layer(r, f"{name}/conv2", 3, c)))
    return FaceRecognitionParams(first, blocks, r.take("fc", (c, 128)))
