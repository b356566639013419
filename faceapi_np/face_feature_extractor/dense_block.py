"""The dense blocks of face-api.js's face feature extractors (``faceFeatureExtractor/denseBlock.ts``).

A block halves the resolution with its first conv, then each separable conv reads the
ReLU of the sum of all earlier outputs of the block (DenseNet-style connectivity with
sums instead of concatenations, Huang et al. 2017):

    out1 = relu(conv0(x))                     # stride 2
    out2 = sep1(out1)
    out3 = sep2(relu(out1 + out2))
    out4 = sep3(relu(out1 + out2 + out3))     # 4-conv blocks only
    y    = relu(out1 + out2 + ... )          # in the last conv's epilogue

face-api.js adds right-to-left (``out1 + (out2 + (out3 + out4))``); here the sum is kept
running from the left, which differs only by float32 rounding (~1e-7 relative).
"""

from __future__ import annotations

from .. import layers
from ..params import ConvParams
from ..tap import traced


@traced(lambda a: f"dense block ({len(a['p'].convs) + 1} convs)")
def dense_block(x, p, bk, input_norm=None):
    """One dense block with 3 or 4 convs; returns (N, ceil(H/2), ceil(W/2), C_out).
    ``input_norm``: the net's input normalisation, for a first block (its first conv is
    a regular conv, which takes it as :func:`~faceapi_np.layers.conv2d` does).

    The running sum ``out1 + ... + outk`` is carried along and each separable conv adds
    its output to it in its fused epilogue (``residual=``); the ReLU of the sum, the next
    conv's input, is applied as that conv reads it (``input_act=``), so every activation
    is read and written once (interleaved A/B on 2 cores: FaceLandmark68Net at batch 8
    21.7 ms against 24.4 ms with a separate ReLU pass).
    """
    if isinstance(p.conv0, ConvParams):  # the first block starts with a regular conv
        total = layers.conv2d(
            x, p.conv0.filters, p.conv0.bias, bk, 2, "same", act="relu", input_norm=input_norm
        )
    else:
        if input_norm is not None:
            x = layers.normalize(x, input_norm, bk)
        total = layers.separable_conv(x, p.conv0, bk, 2, act="relu")
    last = len(p.convs) - 1
    for i, conv in enumerate(p.convs):
        # each conv reads relu(out1 + ... + outk) (out1 alone is already non-negative):
        # the ReLU is applied as the depthwise conv reads, the sum added in the epilogue;
        # the last conv's epilogue also applies the block's closing ReLU, as nothing needs
        # the sum without it (one pass less over the block's output: FaceLandmark68Net at
        # batch 8 loses 4 of them, ~0.7 ms)
        relu_input = "relu" if i else None
        act = "relu" if i == last else None
        total = layers.separable_conv(
            total, conv, bk, input_act=relu_input, residual=total, act=act
        )
    return total
