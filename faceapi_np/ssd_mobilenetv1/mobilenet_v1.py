"""The MobileNetV1 backbone of face-api.js's SSD (``src/ssdMobilenetv1/mobileNetV1.ts``).

Howard et al., *MobileNets* (2017): a 3x3 stride-2 conv, then 13 pairs of a 3x3
depthwise conv and a 1x1 pointwise conv, each followed by ReLU6. The batch norm of the
pointwise convs is folded into an offset; the depthwise convs keep a full batch norm.
"""

from __future__ import annotations

from .. import layers
from ..backend.base import Conv, SeparableConv
from ..tap import is_recording, traced
from .const import BN_EPS, CONV11_PAIR, STRIDE_2_PAIRS


@traced("conv {p.filters.shape[0]}x{p.filters.shape[1]}/{stride} + offset + relu6")
def pointwise_conv_layer(x, p, bk, stride: int, input_norm=None):
    """Conv ('same'), plus the folded batch-norm offset, then ReLU6 (``pointwiseConvLayer.ts``);
    ``input_norm`` as :func:`~faceapi_np.layers.conv2d`'s."""
    return layers.conv2d(
        x, p.filters, p.batch_norm_offset, bk, stride, "same", act="relu6", input_norm=input_norm
    )


def _batch_norm(p, bk):
    """(mean, inv, offset) of a depthwise layer's batch norm, worked out once per params
    object and array namespace, and kept on ``p``.

    The same arrays on every pass: a backend may key work it does once per layer by
    them (the numba backend's plans, ``numba_plans.py``), and new ones each pass made it
    plan SSD's 13 separable convs again on every pass (~0.9 ms of ~40).
    """
    kept = p.__dict__.get("_folded_batch_norm")
    if kept is None or kept[0] is not bk.xp:
        mean, var = p.batch_norm_mean, p.batch_norm_variance
        bn = layers.batch_norm_params(
            mean, var, p.batch_norm_offset, p.batch_norm_scale, BN_EPS, bk
        )
        kept = p.__dict__["_folded_batch_norm"] = (bk.xp, bn)
    return kept[1]


@traced("depthwise 3x3/{stride} + bn + relu6")
def depthwise_conv_layer(x, p, bk, stride: int):
    """3x3 depthwise conv ('same'), batch norm, ReLU6 (``depthwiseConvLayer`` in ``mobileNetV1.ts``)."""
    bn = _batch_norm(p, bk)
    return layers.depthwise_conv2d(x, p.filters, bk, stride, "same", bn=bn, act="relu6")


def separable(p, bk, stride: int) -> SeparableConv:
    """One depthwise/pointwise pair (``mobileNetV1.ts``'s loop body) as a separable conv:
    depthwise 3x3 ('same'), batch norm, ReLU6, then 1x1, folded offset, ReLU6."""
    dw, pw = p.depthwise_conv, p.pointwise_conv
    return SeparableConv(
        dw.filters,
        pw.filters,
        stride,
        "same",
        depthwise_bn=_batch_norm(dw, bk),
        depthwise_act="relu6",
        bias=pw.batch_norm_offset,
        act="relu6",
    )


def traced_pair(x, p, bk, stride: int, name: str):
    """One pair as its two traced layers, so that the summary and the activations name
    both (what :func:`mobilenet_v1` runs while a tap records)."""
    out = depthwise_conv_layer(x, p.depthwise_conv, bk, stride, name=f"{name}/depthwise_conv")
    return pointwise_conv_layer(out, p.pointwise_conv, bk, 1, name=f"{name}/pointwise_conv")


def mobilenet_v1(x, params, bk, input_norm=None):
    """Run the backbone.

    The first conv and the 13 pairs are a chain of separable convs after a stem
    (``Backend.separable_chain``), which a backend may run as kernels that never store
    the depthwise outputs, or that keep a map in cache for the next pair (the first
    conv's with the first pair). While a tap records
    (:func:`~faceapi_np.tap.is_recording`) each pair runs as its two traced layers
    instead. Both ways compute the same sums in the same order (the contract of those
    backend ops), so a tapped pass gives the same outputs.

    Parameters
    ----------
    x : array, shape (N, 512, 512, 3), values in [-1, 1], or as ``input_norm`` (applied
        by the first conv as it reads them) maps to [-1, 1]
    params : MobileNetV1Params

    Returns
    -------
    out : array, shape (N, 16, 16, 1024)
    conv11 : array, shape (N, 32, 32, 512), the output of pair 11 (feeds box predictor 0)
    """
    strides = [2 if idx in STRIDE_2_PAIRS else 1 for idx in range(1, len(params.conv_pairs) + 1)]
    if not is_recording():
        # the first conv is the chain's stem: a backend may run it with the first pairs
        p0 = params.conv_0
        stem = Conv(p0.filters, 2, "same", p0.batch_norm_offset, act="relu6", input_norm=input_norm)
        convs = [separable(p, bk, s) for p, s in zip(params.conv_pairs, strides)]
        conv11 = layers.separable_chain(x, convs[:CONV11_PAIR], bk, stem)
        return layers.separable_chain(conv11, convs[CONV11_PAIR:], bk), conv11
    out = pointwise_conv_layer(
        x, params.conv_0, bk, 2, input_norm=input_norm, name="mobilenetv1/conv_0"
    )  # (N, 256, 256, 32)
    for idx, (p, stride) in enumerate(zip(params.conv_pairs, strides), start=1):
        out = traced_pair(out, p, bk, stride, f"mobilenetv1/conv_{idx}")
        if idx == CONV11_PAIR:
            conv11 = out
    return out, conv11
