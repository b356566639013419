"""Tiny Face Detector parameters (face-api.js ``src/tinyYolov2/extractParamsFromWeigthMap.ts``).

The detector is Tiny-YOLOv2 with depthwise-separable convs ("withSeparableConvs") and a
regular first conv ("isFirstLayerConv2d"): ``conv0`` 3x3 (3 -> 16), ``conv1`` ...
``conv5`` separable 3x3 (16 -> 32 -> 64 -> 128 -> 256 -> 512), ``conv8`` 1x1 (512 -> 25).
face-api.js's ``filterSizes`` has 7 entries, so ``conv6`` and ``conv7`` do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import ConvParams, ParamReader, take_conv, take_separable_conv
from .const import BOX_ANCHORS, BOX_ENCODING_SIZE


@dataclass
class TinyFaceDetectorParams:
    """The whole Tiny Face Detector param tree."""

    conv0: ConvParams
    separable_convs: list  # conv1 .. conv5, SeparableConvParams
    conv8: ConvParams


def extract_params(r: ParamReader) -> TinyFaceDetectorParams:
    """Build the param tree, chaining channel counts and checking every shape."""
    conv0 = take_conv(r, "conv0", 3, 3, None)
    convs, c = [], conv0.filters.shape[3]
    for i in range(1, 6):
        convs.append(take_separable_conv(r, f"conv{i}", c))
        c = convs[-1].bias.shape[0]
    conv8 = take_conv(r, "conv8", 1, c, len(BOX_ANCHORS) * BOX_ENCODING_SIZE)
    return TinyFaceDetectorParams(conv0, convs, conv8)
