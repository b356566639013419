"""The layer library: every building block of the face-api.js nets, in plain array code.

Each function is a pure function of its inputs, a params object and the backend ``bk``;
its docstring states the math and the TensorFlow / face-api.js op it reproduces. Arrays
are NHWC float32; filters are ``(KH, KW, C_in, C_out)`` and depthwise filters
``(KH, KW, C, 1)``, the layout of the face-api.js manifests, so no transposes are needed.
The heavy lifting (convolutions) goes through ``bk``; everything else uses ``bk.xp``.

Read this file top to bottom, then ``ssd_mobilenetv1/net.py`` to see them put together.
"""

from __future__ import annotations

from . import activations, ops
from .activations import LEAKY_ALPHA
from .backend.base import normalize_input
from .tap import traced


def _conv_op(kind: str, a: dict) -> str:
    """The summary text of a conv call: ``conv 3x3/2 valid + bias + relu6``."""
    w = a.get("filters", a.get("depthwise_filter"))
    kh, kw = w.shape[:2]
    pad = a.get("padding", "same")
    pad = "" if pad == "same" else f" {pad}" if isinstance(pad, str) else f" pad {pad}"
    text = f"{kind} {kh}x{kw}/{a.get('stride', 1)}{pad}"
    for term in ("bias", "bn", "scale", "residual"):
        if a.get(term) is not None:
            text += f" + {term}"
    text += f" + {a['act']}" if a.get("act") else ""
    return text + (f" + max pool {a['max_pool']}x{a['max_pool']}" if a.get("max_pool") else "")


# --- convolutions -------------------------------------------------------------------


@traced(lambda a: _conv_op("conv", a), params=("filters", "bias", "scale"))
def conv2d(
    x,
    filters,
    bias,
    bk,
    stride: int = 1,
    padding="same",
    *,
    scale=None,
    residual=None,
    act=None,
    input_norm=None,
    max_pool=None,
):
    """Convolution plus bias, with optional scale layer, residual and activation.

    ``y = act((conv(x, filters) + bias) * scale[0] + scale[1] + residual)``: TF
    ``tf.conv2d(x, filters, stride, padding)`` then ``tf.add(y, bias)``, as in face-api.js
    ``src/common/convLayer.ts``; the optional terms are the ResNet's scale layer and
    shortcut. ``padding='same'`` pads ``ceil`` style with the odd pixel after (see
    :func:`faceapi_np.backend.geometry.same_pads`). The backend runs it as one fused op.

    Parameters
    ----------
    x : array, shape (N, H, W, C_in)
    filters : array, shape (KH, KW, C_in, C_out)
    bias : array, shape (C_out,) or None
    bk : Backend
    scale : (weights, biases) of shape (C_out,), optional
    residual : array, shape (N, H', W', C_out), optional
    act : None | "relu" | "relu6" | "leaky"
    input_norm : (scale, offset, divisor), optional
        The net's input normalisation (:func:`rgb_norm`, :func:`scale_norm`), applied to
        ``x`` before the conv and its padding, as :func:`normalize` would: a net's first
        conv takes it so that a backend can apply it while reading the pixels.
    max_pool : int, optional
        ``k``: then a k x k stride-k 'same' :func:`max_pool` of the result, which a
        backend may do as it stores the result (Tiny Face Detector's convs and pools).

    Returns
    -------
    array, shape (N, H', W', C_out), or (N, ceil(H'/k), ceil(W'/k), C_out) pooled
    """
    return bk.conv2d(
        x,
        filters,
        stride,
        padding,
        bias=bias,
        scale=scale,
        residual=residual,
        act=act,
        input_norm=input_norm,
        max_pool=max_pool,
    )


@traced(lambda a: _conv_op("depthwise", a), params=("filters",))
def depthwise_conv2d(x, filters, bk, stride: int = 1, padding="same", *, bn=None, act=None):
    """Depthwise convolution: each channel convolved with its own ``KH x KW`` filter.

    TF ``tf.depthwiseConv2d`` with channel multiplier 1: ``y[n, i, j, c] =
    sum_{a, b} x[n, s*i + a, s*j + b, c] * filters[a, b, c, 0]`` over the padded input,
    then optionally a batch norm ``bn = (mean, inv, offset)`` (see
    :func:`batch_norm_params`) and an activation, fused by the backend.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    filters : array, shape (KH, KW, C, 1)

    Returns
    -------
    array, shape (N, H', W', C)
    """
    return bk.depthwise_conv2d(x, filters, stride, padding, bn=bn, act=act)


@traced(lambda a: _conv_op("separable", a), params=("depthwise_filter", "pointwise_filter", "bias"))
def separable_conv2d(
    x,
    depthwise_filter,
    pointwise_filter,
    bias,
    bk,
    stride=1,
    padding="same",
    *,
    input_act=None,
    depthwise_bn=None,
    depthwise_act=None,
    residual=None,
    act=None,
    max_pool=None,
):
    """Depthwise-separable convolution plus bias (optional input activation, residual, activation).

    TF ``tf.separableConv2d``: a depthwise conv (stride, padding) followed by a 1x1
    'valid' pointwise conv, then ``+ bias`` (face-api.js ``src/common/depthwiseSeparableConv.ts``).
    ``input_act`` is an activation applied to ``x`` first; kernel backends fuse a ReLU
    there into the depthwise conv's reads (no extra pass over the activation).
    ``depthwise_bn`` and ``depthwise_act`` (MobileNet's pairs) follow the depthwise conv,
    as ``bn`` and ``act`` of :func:`depthwise_conv2d`. The backend runs it as one op
    (:meth:`~faceapi_np.backend.base.Backend.separable_conv2d`), which the numba backend
    computes without storing the depthwise output. ``max_pool`` as :func:`conv2d`'s.

    Parameters
    ----------
    depthwise_filter : array, shape (KH, KW, C_in, 1)
    pointwise_filter : array, shape (1, 1, C_in, C_out)
    bias : array, shape (C_out,) or None
    """
    return bk.separable_conv2d(
        x,
        depthwise_filter,
        pointwise_filter,
        stride,
        padding,
        depthwise_bn=depthwise_bn,
        depthwise_act=depthwise_act,
        input_act=input_act,
        bias=bias,
        residual=residual,
        act=act,
        max_pool=max_pool,
    )


def separable_chain(x, convs, bk, stem=None):
    """Separable convs one after another (each a ``SeparableConv``: the arguments of
    :func:`separable_conv2d` but its input), each one's output the next one's input,
    after a plain conv ``stem`` (a ``Conv``: the arguments of :func:`conv2d` but its
    input) if there is one.

    One backend op (:meth:`~faceapi_np.backend.base.Backend.separable_chain`), so that a
    backend may run consecutive convs depth first, keeping the map between them in
    cache (the numba backend does for large maps); the numbers are those of the convs
    one by one.
    """
    return bk.separable_chain(x, convs, stem)


# --- normalisation and affine --------------------------------------------------------


def batch_norm_params(mean, variance, offset, scale, eps: float, bk):
    """``(mean, inv, offset)`` with ``inv = scale / sqrt(variance + eps)``, for a fused batch norm."""
    xp = bk.xp
    return mean, scale / xp.sqrt(variance + xp.float32(eps)), offset


def batch_norm(x, mean, variance, offset, scale, eps: float, bk):
    """Batch normalisation with stored statistics (inference form).

    ``y = (x - mean) * scale / sqrt(variance + eps) + offset``, i.e. TF ``tf.batchNorm``
    as face-api.js ``src/ssdMobilenetv1/mobileNetV1.ts`` calls it.
    """
    mean, inv, offset = batch_norm_params(mean, variance, offset, scale, eps, bk)
    return (x - mean) * inv + offset


def scale_bias(x, weights, biases):
    """Per-channel affine ``y = x * weights + biases`` (the 'scale' layers of the ResNet)."""
    return x * weights + biases


def rgb_norm(mean_rgb, divisor):
    """The ``input_norm`` of ``(x - mean_rgb) / divisor`` (face-api.js ``ops/normalize.ts``
    then ``div``), for :func:`conv2d` or :func:`normalize`."""
    return (1.0, 1.0, 1.0), tuple(float(m) for m in mean_rgb), (float(divisor),) * 3


def scale_norm(scale, offset):
    """The ``input_norm`` of ``x * scale - offset`` on all three channels (SSD's
    ``x * 2/255 - 1``), for :func:`conv2d` or :func:`normalize`."""
    return (float(scale),) * 3, (float(offset),) * 3, (1.0, 1.0, 1.0)


def normalize(x, norm, bk):
    """``(x * scale - offset) / divisor`` per channel, ``norm`` = (scale, offset, divisor)
    as made by :func:`rgb_norm` or :func:`scale_norm`: a net's input normalisation on
    its own. The nets hand it to their first conv instead (``input_norm=``), which
    computes the same values as it reads the pixels."""
    return normalize_input(x, norm, bk.xp)


# --- activations ---------------------------------------------------------------------


def relu(x, bk):
    """``max(x, 0)`` (TF ``tf.relu``)."""
    return activations.relu(x, bk.xp)


def relu6(x, bk):
    """``min(max(x, 0), 6)`` (TF ``tf.clipByValue(x, 0, 6)``)."""
    return activations.relu6(x, bk.xp)


def leaky_relu(x, bk, alpha: float = LEAKY_ALPHA):
    """Leaky ReLU as face-api.js writes it, ``relu(x - a*x) + a*x`` (see :mod:`.activations`)."""
    return activations.leaky_relu(x, bk.xp, alpha)


def prelu(x, alpha, bk):
    """Parametric ReLU ``relu(x) - alpha * relu(-x)``, with one ``alpha`` per channel."""
    xp = bk.xp
    return xp.maximum(x, 0) - alpha * xp.maximum(-x, 0)


def activate(x, act, bk):
    """Apply the named activation: None, ``"relu"``, ``"relu6"`` or ``"leaky"``."""
    return activations.activate(x, act, bk.xp)


def sigmoid(x, bk):
    """Logistic function ``1 / (1 + exp(-x))`` (TF ``tf.sigmoid``), on the backend's arrays."""
    return ops.sigmoid(x, bk.xp)


def softmax(x, bk, axis: int = -1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (TF ``tf.softmax``)."""
    xp = bk.xp
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --- pooling and dense ---------------------------------------------------------------


@traced("max pool {k}x{k}/{stride} {padding}")
def max_pool(x, k: int, stride: int, bk, padding="same"):
    """Max pooling over ``k x k`` windows (TF ``tf.maxPool``); padded cells never win.

    Parameters
    ----------
    x : array, shape (N, H, W, C)

    Returns
    -------
    array, shape (N, H', W', C)
    """
    return bk.max_pool(x, k, stride, padding)


@traced("avg pool {k}x{k}/{stride} {padding}")
def avg_pool(x, k: int, stride: int, bk, padding="valid"):
    """Average pooling over ``k x k`` windows (TF ``tf.avgPool``).

    With ``'same'`` padding TF averages over the cells inside the image only, so the
    divisor is the count of real cells in each window.
    """
    return bk.avg_pool(x, k, stride, padding)


@traced("fully connected", params=("weights", "bias"))
def fully_connected(x, weights, bias, bk):
    """Dense layer ``y = x @ weights + bias`` (TF ``tf.matMul`` then ``tf.add``).

    Parameters
    ----------
    x : array, shape (N, D_in)
    weights : array, shape (D_in, D_out)
    bias : array, shape (D_out,) or None
    """
    return bk.dense(x, weights, bias)


@traced("mean over H, W")
def global_avg_pool(x, bk):
    """Mean over the spatial axes: (N, H, W, C) -> (N, C) (TF ``tf.mean(x, [1, 2])``)."""
    return bk.spatial_mean(x)


def separable_conv(x, p, bk, stride: int = 1, padding="same", **fused):
    """:func:`separable_conv2d` with the filters and bias of a ``SeparableConvParams``.

    ``fused`` passes ``input_act``, ``residual``, ``act``, ``max_pool`` and ``name`` through.
    """
    return separable_conv2d(
        x, p.depthwise_filter, p.pointwise_filter, p.bias, bk, stride, padding, **fused
    )


def conv(x, p, bk, stride: int = 1, padding="same", **fused):
    """:func:`conv2d` with the filters and bias of a ``ConvParams``; ``fused`` as conv2d's."""
    return conv2d(x, p.filters, p.bias, bk, stride, padding, **fused)


def dense(x, p, bk, **kwargs):
    """:func:`fully_connected` with the weights and bias of an ``FCParams``."""
    return fully_connected(x, p.weights, p.bias, bk, **kwargs)
