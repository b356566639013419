"""AgeGenderNet parameters: TinyXception with 2 main blocks, plus two dense heads.

Mirrors face-api.js ``src/xception/extractParamsFromWeigthMap.ts`` and
``src/ageGenderNet/extractParamsFromWeigthMap.ts``: ``entry_flow/conv_in`` (3x3 conv),
``entry_flow/reduction_block_0..1``, ``middle_flow/main_block_0..1``,
``exit_flow/reduction_block``, ``exit_flow/separable_conv``; ``fc/age`` (C -> 1) and
``fc/gender`` (C -> 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import ConvParams, FCParams, ParamReader, take_conv, take_separable_conv

NUM_MAIN_BLOCKS = 2


@dataclass
class ReductionBlockParams:
    """Two separable convs and a strided 1x1 'expansion' conv on the shortcut."""

    separable_conv0: object
    separable_conv1: object
    expansion_conv: ConvParams


@dataclass
class MainBlockParams:
    """Three separable convs with a residual connection."""

    separable_convs: list


@dataclass
class AgeGenderParams:
    """The whole AgeGenderNet param tree."""

    conv_in: ConvParams
    reduction_blocks: list  # entry_flow/reduction_block_0, _1
    main_blocks: list
    exit_reduction_block: ReductionBlockParams
    exit_separable_conv: object
    age: FCParams
    gender: FCParams


def _reduction(r: ParamReader, prefix: str, cin: int) -> ReductionBlockParams:
    sep0 = take_separable_conv(r, f"{prefix}/separable_conv0", cin)
    c = sep0.bias.shape[0]
    sep1 = take_separable_conv(r, f"{prefix}/separable_conv1", c, c)
    return ReductionBlockParams(sep0, sep1, take_conv(r, f"{prefix}/expansion_conv", 1, cin, c))


def extract_params(r: ParamReader) -> AgeGenderParams:
    """Build the param tree, chaining channel counts and checking every shape."""
    conv_in = take_conv(r, "entry_flow/conv_in", 3, 3, None)
    c = conv_in.filters.shape[3]
    reductions = []
    for i in range(2):
        reductions.append(_reduction(r, f"entry_flow/reduction_block_{i}", c))
        c = reductions[-1].separable_conv1.bias.shape[0]
    mains = [
        MainBlockParams(
            [
                take_separable_conv(r, f"middle_flow/main_block_{b}/separable_conv{i}", c, c)
                for i in range(3)
            ]
        )
        for b in range(NUM_MAIN_BLOCKS)
    ]
    exit_block = _reduction(r, "exit_flow/reduction_block", c)
    c = exit_block.separable_conv1.bias.shape[0]
    exit_sep = take_separable_conv(r, "exit_flow/separable_conv", c)
    c = exit_sep.bias.shape[0]
    age = FCParams(r.take("fc/age/weights", (c, 1)), r.take("fc/age/bias", (1,)))
    gender = FCParams(r.take("fc/gender/weights", (c, 2)), r.take("fc/gender/bias", (2,)))
    return AgeGenderParams(conv_in, reductions, mains, exit_block, exit_sep, age, gender)
