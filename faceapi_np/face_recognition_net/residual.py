"""Residual blocks of FaceRecognitionNet (``faceRecognitionNet/residualLayer.ts``, ``convLayer.ts``).

He et al., *Deep Residual Learning* (2016), as dlib builds it: two 3x3 convs, each with
bias and a scale layer, ReLU after the first and after the sum. A downsampling block's
first conv is 3x3 stride 2 'valid'; its shortcut is a 2x2 average pool, padded with zero
channels when the block doubles them. When the pooled and the conv paths differ in size
(odd inputs), face-api.js appends one zero row and one zero column to the conv path.
"""

from __future__ import annotations

from .. import layers
from ..tap import count_macs, traced


@traced(
    "conv {p.conv.filters.shape[0]}x{p.conv.filters.shape[1]}/{stride} {padding} + scale + relu"
)
def conv_layer(
    x, p, bk, stride: int = 1, padding="same", relu: bool = True, residual=None, input_norm=None
):
    """Conv + bias, scale layer, optional shortcut, optional ReLU (``convLayer`` in face-api.js);
    ``input_norm`` as :func:`~faceapi_np.layers.conv2d`'s."""
    scale = (p.scale.weights, p.scale.biases)
    act = "relu" if relu else None
    return layers.conv(
        x, p.conv, bk, stride, padding, scale=scale, residual=residual, act=act,
        input_norm=input_norm,
    )  # fmt: skip


@traced("residual (3x3, 3x3)")
def residual(x, p, bk):
    """``relu(conv2(relu(conv1(x))) + x)``, shapes kept (the add and ReLU fused into conv2)."""
    out = conv_layer(x, p.conv1, bk)
    return conv_layer(out, p.conv2, bk, relu=True, residual=x)


def _down_macs(a, out) -> int:
    """Multiply-adds of a downsampling block: its convs run on the (H - 3) // 2 + 1 map
    before face-api.js pads it, so the padded output shape overcounts them."""
    n, h, w, _ = a["x"].shape
    conv_out = (n, (h - 3) // 2 + 1, (w - 3) // 2 + 1, out.shape[3])
    return count_macs(a["p"], conv_out)


@traced("residual down (3x3/2 valid, 3x3)", macs=_down_macs)
def residual_down(x, p, bk):
    """Downsampling block: strided 'valid' conv path plus average-pooled shortcut.

    ``relu(out + shortcut)``, where the shortcut is the 2x2 average pool of ``x`` with as
    many zero channels appended as it has (channels double). Where the two paths have
    the same size, the sum and its ReLU are conv2's epilogue (as in :func:`residual`).
    """
    out = conv_layer(x, p.conv1, bk, stride=2, padding="valid")
    pooled = layers.avg_pool(x, 2, 2, bk, "valid")
    extra = p.conv2.conv.filters.shape[3] - pooled.shape[3]
    if extra:  # as many zero channels as it has
        pooled = bk.pad(pooled, ((0, 0), (0, 0), (0, 0), (0, extra)))
    if out.shape[1:3] == pooled.shape[1:3]:
        return conv_layer(out, p.conv2, bk, relu=True, residual=pooled)
    out = conv_layer(out, p.conv2, bk, relu=False)
    # face-api.js appends one zero row, then one zero column (not a general pad)
    out = bk.pad(out, ((0, 0), (0, 1), (0, 1), (0, 0)))
    return bk.add(pooled, out, act="relu")
