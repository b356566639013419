"""The dense blocks of face-api.js's face feature extractors (``faceFeatureExtractor/denseBlock.ts``).

A block halves the resolution with its first conv, then each separable conv reads the
ReLU of the sum of all earlier outputs of the block (DenseNet-style connectivity with
sums instead of concatenations, Huang et al. 2017):

    out1 = relu(conv0(x))                     # stride 2
    out2 = sep1(out1)
    out3 = sep2(relu(out1 + out2))
    out4 = sep3(relu(out1 + out2 + out3))     # 4-conv blocks only
    y    = relu(out1 + out2 + ... )

face-api.js adds right-to-left (``out1 + (out2 + (out3 + out4))``); so do we, so the
float32 rounding agrees.
"""

from __future__ import annotations

from .. import layers
from ..params import ConvParams


def _separable(x, p, bk, stride, act=None):
    """Separable 3x3 'same' conv plus bias (``common/depthwiseSeparableConv.ts``)."""
    return layers.separable_conv2d(x, p.depthwise_filter, p.pointwise_filter, p.bias, bk, stride, "same", act=act)


def dense_block(x, p, bk):
    """One dense block with 3 or 4 convs; returns (N, ceil(H/2), ceil(W/2), C_out)."""
    if isinstance(p.conv0, ConvParams):  # the first block starts with a regular conv
        first = layers.conv2d(x, p.conv0.filters, p.conv0.bias, bk, 2, "same", act="relu")
    else:
        first = _separable(x, p.conv0, bk, 2, act="relu")
    outs = [first]
    for conv in p.convs:
        inp = outs[0] if len(outs) == 1 else layers.relu(_sum_right_to_left(outs), bk)
        outs.append(_separable(inp, conv, bk, 1))
    return layers.relu(_sum_right_to_left(outs), bk)


def _sum_right_to_left(arrays):
    """``a0 + (a1 + (a2 + ...))``, the association face-api.js uses."""
    total = arrays[-1]
    for a in reversed(arrays[:-1]):
        total = a + total
    return total
