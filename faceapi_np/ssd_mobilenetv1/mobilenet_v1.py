"""The MobileNetV1 backbone of face-api.js's SSD (``src/ssdMobilenetv1/mobileNetV1.ts``).

Howard et al., *MobileNets* (2017): a 3x3 stride-2 conv, then 13 pairs of a 3x3
depthwise conv and a 1x1 pointwise conv, each followed by ReLU6. The batch norm of the
pointwise convs is folded into an offset; the depthwise convs keep a full batch norm.
"""

from __future__ import annotations

from .. import layers
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


def conv_pair(x, p, bk, stride: int, name: str):
    """One depthwise/pointwise pair (``mobileNetV1.ts``'s loop body).

    The pair is one separable conv, which a backend may run as one kernel that never
    stores the depthwise output. The summary and the activations name both layers,
    though, so while a tap records (:func:`~faceapi_np.tap.is_recording`) the pair runs
    as its two traced layers. Both ways compute the same sums in the same order (the
    contract of ``Backend.separable_conv2d``), so a tapped pass gives the same outputs.
    """
    dw, pw = p.depthwise_conv, p.pointwise_conv
    if is_recording():
        out = depthwise_conv_layer(x, dw, bk, stride, name=f"{name}/depthwise_conv")
        return pointwise_conv_layer(out, pw, bk, 1, name=f"{name}/pointwise_conv")
    return layers.separable_conv2d(
        x,
        dw.filters,
        pw.filters,
        pw.batch_norm_offset,
        bk,
        stride,
        "same",
        depthwise_bn=_batch_norm(dw, bk),
        depthwise_act="relu6",
        act="relu6",
    )


def mobilenet_v1(x, params, bk, input_norm=None):
    """Run the backbone.

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
    out = pointwise_conv_layer(
        x, params.conv_0, bk, 2, input_norm=input_norm, name="mobilenetv1/conv_0"
    )  # (N, 256, 256, 32)
    conv11 = None
    for idx, p in enumerate(params.conv_pairs, start=1):
        stride = 2 if idx in STRIDE_2_PAIRS else 1
        out = conv_pair(out, p, bk, stride, f"mobilenetv1/conv_{idx}")
        if idx == CONV11_PAIR:
            conv11 = out
    return out, conv11
