"""FaceProcessor parameters: the feature extractor's dense blocks plus the classifier
``fc`` (e.g. 256 -> 136 landmarks, or 256 -> 7 expressions), as face-api.js's
``src/faceProcessor/extractParamsFromWeigthMap.ts`` splits them."""

from __future__ import annotations

from dataclasses import dataclass

from ..face_feature_extractor.params import extract_dense_blocks
from ..params import FCParams, ParamReader


@dataclass
class FaceProcessorParams:
    """Dense blocks of the feature extractor and a dense classifier."""

    dense_blocks: list
    fc: FCParams


def extract_params(
    r: ParamReader, num_blocks: int, convs_per_block: int, num_outputs: int
) -> FaceProcessorParams:
    """Read the dense blocks, then ``fc/weights`` (C, num_outputs) and ``fc/bias``."""
    blocks = extract_dense_blocks(r, num_blocks, convs_per_block)
    c = blocks[-1].convs[-1].bias.shape[0]
    fc = FCParams(r.take("fc/weights", (c, num_outputs)), r.take("fc/bias", (num_outputs,)))
    return FaceProcessorParams(blocks, fc)
