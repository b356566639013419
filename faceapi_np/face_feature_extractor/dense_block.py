"""The dense blocks of face-api.js's face feature extractors (``faceFeatureExtractor/denseBlock.ts``).

A block halves the resolution with its first conv, then each separable conv reads the
ReLU of the sum of all earlier outputs of the block (DenseNet-style connectivity with
sums instead of concatenations, Huang et al. 2017):

    out1 = relu(conv0(x))                     # stride 2
    out2 = sep1(out1)
    out3 = sep2(relu(out1 + out2))
    out4 = sep3(relu(out1 + out2 + out3))     # 4-conv blocks only
    y    = relu(out1 + out2 + ... )

face-api.js adds right-to-left (``out1 + (out2 + (out3 + out4))``); here the sum is kept
running from the left, which differs only by float32 rounding (~1e-7 relative).
"""

from __future__ import annotations

from .. import layers
from ..params import ConvParams


def _separable(x, p, bk, stride, act=None, residual=None):
    """Separable 3x3 'same' conv plus bias (``common/depthwiseSeparableConv.ts``)."""
    return layers.separable_conv2d(x, p.depthwise_filter, p.pointwise_filter, p.bias, bk, stride, "same",
                                   act=act, residual=residual)


def dense_block(x, p, bk):
    """One dense block with 3 or 4 convs; returns (N, ceil(H/2), ceil(W/2), C_out).

    The running sum ``out1 + ... + outk`` is carried along and each separable conv adds
    its output to it in its fused epilogue (``residual=``), so every activation is read
    and written once; the ReLU of the sum is the next conv's input.
    """
    if isinstance(p.conv0, ConvParams):  # the first block starts with a regular conv
        total = layers.conv2d(x, p.conv0.filters, p.conv0.bias, bk, 2, "same", act="relu")
    else:
        total = _separable(x, p.conv0, bk, 2, act="relu")
    inp = total  # out1 is already non-negative
    for conv in p.convs:
        total = _separable(inp, conv, bk, 1, residual=total)
        inp = layers.relu(total, bk)
    return inp
