"""Parameters of face-api.js's face feature extractors (``src/faceFeatureExtractor/``).

Dense blocks ``dense0`` ... (``conv0`` a regular 3x3 conv in the first block, a separable
conv in the others, then separable convs ``conv1`` ...), as in
``extractParamsFromWeigthMap.ts`` / ``extractParamsFromWeigthMapTiny.ts``. Shared by
FaceLandmark68Net (4 blocks of 4 convs), its tiny twin (3 of 3) and FaceExpressionNet
(4 of 4); each adds its own ``fc`` classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import ParamReader, take_conv, take_separable_conv


@dataclass
class DenseBlockParams:
    """``conv0`` (ConvParams in the first block, else SeparableConvParams) and ``convs``."""

    conv0: object
    convs: list


def extract_dense_blocks(r: ParamReader, num_blocks: int, convs_per_block: int) -> list:
    """Read ``num_blocks`` dense blocks of ``convs_per_block`` convs, channels chained."""
    blocks, c = [], 3
    for b in range(num_blocks):
        if b == 0:
            conv0 = take_conv(r, "dense0/conv0", 3, 3, None)
            cout = conv0.filters.shape[3]
        else:
            conv0 = take_separable_conv(r, f"dense{b}/conv0", c)
            cout = conv0.bias.shape[0]
        convs = [
            take_separable_conv(r, f"dense{b}/conv{i}", cout, cout)
            for i in range(1, convs_per_block)
        ]
        blocks.append(DenseBlockParams(conv0, convs))
        c = cout
    return blocks
