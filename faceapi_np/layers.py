"""The layer library: every building block of the face-api.js nets, in plain array code.

Each function is a pure function of its inputs, a params object and the backend ``bk``;
its docstring states the math and the TensorFlow / face-api.js op it reproduces. Arrays
are NHWC float32; filters are ``(KH, KW, C_in, C_out)`` and depthwise filters
``(KH, KW, C, 1)``, the layout of the face-api.js manifests, so no transposes are needed.
The heavy lifting (convolutions) goes through ``bk``; everything else uses ``bk.xp``.

Read this file top to bottom, then ``ssd_mobilenetv1/net.py`` to see them put together.
"""

from __future__ import annotations

import numpy as np

from .backend.geometry import output_size, window_pads

#: face-api.js's leaky-ReLU slope, float32(0.1) written out in ``tinyYolov2/leaky.ts``.
LEAKY_ALPHA = 0.10000000149011612


# --- convolutions -------------------------------------------------------------------


def conv2d(x, filters, bias, bk, stride: int = 1, padding="same"):
    """Convolution plus bias: ``y = conv(x, filters) + bias``.

    TF ``tf.conv2d(x, filters, stride, padding)`` then ``tf.add(y, bias)``, as in
    face-api.js ``src/common/convLayer.ts``. ``padding='same'`` pads ``ceil`` style with
    the odd pixel after (see :func:`faceapi_np.backend.geometry.same_pads`).

    Parameters
    ----------
    x : array, shape (N, H, W, C_in)
    filters : array, shape (KH, KW, C_in, C_out)
    bias : array, shape (C_out,) or None
    bk : Backend

    Returns
    -------
    array, shape (N, H', W', C_out)
    """
    out = bk.conv2d(x, filters, stride, padding)
    return out if bias is None else out + bias


def depthwise_conv2d(x, filters, bk, stride: int = 1, padding="same"):
    """Depthwise convolution: each channel convolved with its own ``KH x KW`` filter.

    TF ``tf.depthwiseConv2d`` with channel multiplier 1: ``y[n, i, j, c] =
    sum_{a, b} x[n, s*i + a, s*j + b, c] * filters[a, b, c, 0]`` over the padded input.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    filters : array, shape (KH, KW, C, 1)

    Returns
    -------
    array, shape (N, H', W', C)
    """
    return bk.depthwise_conv2d(x, filters, stride, padding)


def separable_conv2d(x, depthwise_filter, pointwise_filter, bias, bk, stride=1, padding="same"):
    """Depthwise-separable convolution plus bias.

    TF ``tf.separableConv2d``: a depthwise conv (stride, padding) followed by a 1x1
    'valid' pointwise conv, then ``+ bias`` (face-api.js ``src/common/depthwiseSeparableConv.ts``).

    Parameters
    ----------
    depthwise_filter : array, shape (KH, KW, C_in, 1)
    pointwise_filter : array, shape (1, 1, C_in, C_out)
    bias : array, shape (C_out,)
    """
    out = bk.depthwise_conv2d(x, depthwise_filter, stride, padding)
    return conv2d(out, pointwise_filter, bias, bk, 1, "valid")


# --- normalisation and affine --------------------------------------------------------


def batch_norm(x, mean, variance, offset, scale, eps: float, bk):
    """Batch normalisation with stored statistics (inference form).

    ``y = (x - mean) * scale / sqrt(variance + eps) + offset``, i.e. TF ``tf.batchNorm``
    as face-api.js ``src/ssdMobilenetv1/mobileNetV1.ts`` calls it.
    """
    xp = bk.xp
    inv = scale / xp.sqrt(variance + xp.float32(eps))
    return (x - mean) * inv + offset


def scale_bias(x, weights, biases):
    """Per-channel affine ``y = x * weights + biases`` (the 'scale' layers of the ResNet)."""
    return x * weights + biases


def normalize_rgb(x, mean_rgb, divisor, bk):
    """``(x - mean_rgb) / divisor`` on an RGB batch (face-api.js ``ops/normalize.ts``)."""
    xp = bk.xp
    return (x - xp.asarray(mean_rgb, dtype=xp.float32)) / xp.float32(divisor)


# --- activations ---------------------------------------------------------------------


def relu(x, bk):
    """``max(x, 0)`` (TF ``tf.relu``)."""
    return bk.xp.maximum(x, 0)


def relu6(x, bk):
    """``min(max(x, 0), 6)`` (TF ``tf.clipByValue(x, 0, 6)``)."""
    return bk.xp.clip(x, 0, 6)


def leaky_relu(x, bk, alpha: float = LEAKY_ALPHA):
    """Leaky ReLU written as face-api.js writes it: ``relu(x - a*x) + a*x``.

    Equal to ``max(x, a*x)`` up to float32 rounding; we keep face-api.js's form
    (``src/tinyYolov2/leaky.ts``) so outputs match it bit for bit where possible.
    """
    xp = bk.xp
    ax = x * xp.float32(alpha)
    return xp.maximum(x - ax, 0) + ax


def prelu(x, alpha, bk):
    """Parametric ReLU ``relu(x) - alpha * relu(-x)``, with one ``alpha`` per channel."""
    xp = bk.xp
    return xp.maximum(x, 0) - alpha * xp.maximum(-x, 0)


def sigmoid(x, bk):
    """Logistic function ``1 / (1 + exp(-x))`` (TF ``tf.sigmoid``)."""
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88: the result, 0, is right
        return 1 / (1 + bk.xp.exp(-x))


def softmax(x, bk, axis: int = -1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (TF ``tf.softmax``)."""
    xp = bk.xp
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --- pooling and dense ---------------------------------------------------------------


def _pool_windows(x, k: int, stride: int, padding, fill, bk):
    """Padded input plus the output size and slices of each window tap."""
    n, h, w, c = x.shape
    pads = window_pads(h, w, k, k, stride, padding)
    ho = output_size(h, k, stride, *pads[0])
    wo = output_size(w, k, stride, *pads[1])
    (t, b), (l, r) = pads
    xp = bk.xp
    if t or b or l or r:
        x = xp.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    taps = [
        (slice(i, i + (ho - 1) * stride + 1, stride), slice(j, j + (wo - 1) * stride + 1, stride))
        for i in range(k)
        for j in range(k)
    ]
    return x, taps, pads


def max_pool(x, k: int, stride: int, bk, padding="same"):
    """Max pooling over ``k x k`` windows (TF ``tf.maxPool``); padded cells never win.

    Parameters
    ----------
    x : array, shape (N, H, W, C)

    Returns
    -------
    array, shape (N, H', W', C)
    """
    xp, taps, _ = _pool_windows(x, k, stride, padding, -float("inf"), bk)
    out = xp[:, taps[0][0], taps[0][1]]
    for sy, sx in taps[1:]:
        out = bk.xp.maximum(out, xp[:, sy, sx])
    return out


def avg_pool(x, k: int, stride: int, bk, padding="valid"):
    """Average pooling over ``k x k`` windows (TF ``tf.avgPool``).

    With ``'same'`` padding TF averages over the cells inside the image only, so the
    divisor is the count of real cells in each window.
    """
    xp_, taps, pads = _pool_windows(x, k, stride, padding, 0.0, bk)
    total = xp_[:, taps[0][0], taps[0][1]]
    for sy, sx in taps[1:]:
        total = total + xp_[:, sy, sx]
    if pads == ((0, 0), (0, 0)):
        return total / bk.xp.float32(k * k)
    ones = bk.xp.ones((1,) + x.shape[1:3] + (1,), dtype=bk.xp.float32)
    ones, _, _ = _pool_windows(ones, k, stride, padding, 0.0, bk)
    count = sum(ones[:, sy, sx] for sy, sx in taps)
    return total / count


def fully_connected(x, weights, bias, bk):
    """Dense layer ``y = x @ weights + bias`` (TF ``tf.matMul`` then ``tf.add``).

    Parameters
    ----------
    x : array, shape (N, D_in)
    weights : array, shape (D_in, D_out)
    bias : array, shape (D_out,) or None
    """
    out = x @ weights
    return out if bias is None else out + bias
