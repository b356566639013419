"""FaceLandmark68Net / FaceLandmark68TinyNet parameters.

Mirrors face-api.js ``src/faceFeatureExtractor/extractParamsFromWeigthMap(Tiny).ts`` and
``src/faceProcessor/extractParamsFromWeigthMap.ts``: dense blocks ``dense0`` ...
(``conv0`` a regular 3x3 conv in the first block, a separable conv in the others; then
separable convs ``conv1`` ...), and the classifier ``fc`` (256 or 128 -> 136).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import FCParams, ParamReader, take_conv, take_separable_conv


@dataclass
class DenseBlockParams:
    """``conv0`` (ConvParams in the first block, else SeparableConvParams) and ``convs``."""

    conv0: object
    convs: list


@dataclass
class FaceLandmarkParams:
    dense_blocks: list
    fc: FCParams


def extract_params(r: ParamReader, num_blocks: int, convs_per_block: int) -> FaceLandmarkParams:
    """Read ``num_blocks`` dense blocks of ``convs_per_block`` convs, then ``fc``."""
    blocks, c = [], 3
    for b in range(num_blocks):
        if b == 0:
            conv0 = take_conv(r, "dense0/conv0", 3, 3, None)
            cout = conv0.filters.shape[3]
        else:
            conv0 = take_separable_conv(r, f"dense{b}/conv0", c)
            cout = conv0.bias.shape[0]
        convs = [take_separable_conv(r, f"dense{b}/conv{i}", cout, cout) for i in range(1, convs_per_block)]
        blocks.append(DenseBlockParams(conv0, convs))
        c = cout
    fc = FCParams(r.take("fc/weights", (c, 136)), r.take("fc/bias", (136,)))
    return FaceLandmarkParams(blocks, fc)
