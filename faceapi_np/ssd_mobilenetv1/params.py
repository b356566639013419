"""SSD MobileNetV1 parameters: TF names -> typed tree, every shape checked.

Mirrors face-api.js ``src/ssdMobilenetv1/extractParamsFromWeigthMap.ts``. The TF names
(``MobilenetV1/Conv2d_1_depthwise/BatchNorm/gamma``) appear only here; the tree uses
face-api.js's param paths (``mobilenetv1/conv_pairs/0/depthwise_conv/batch_norm_scale``,
with lists where face-api.js numbers fields ``conv_1`` ... ``conv_13``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import ConvParams, ParamReader, take_conv
from .const import NUM_ANCHORS


@dataclass
class PointwiseConvParams:
    """Conv with folded batch norm: ``filters`` (K, K, C_in, C_out), ``batch_norm_offset`` (C_out,)."""

    filters: np.ndarray
    batch_norm_offset: np.ndarray


@dataclass
class DepthwiseConvParams:
    """3x3 depthwise conv ``filters`` (3, 3, C, 1) and its batch norm vectors (C,)."""

    depthwise: ClassVar[bool] = True  # for count_macs: `filters` is a depthwise filter
    filters: np.ndarray
    batch_norm_scale: np.ndarray
    batch_norm_offset: np.ndarray
    batch_norm_mean: np.ndarray
    batch_norm_variance: np.ndarray


@dataclass
class ConvPairParams:
    """One MobileNetV1 block: depthwise 3x3 (+BN, ReLU6), then pointwise 1x1 (+offset, ReLU6)."""

    depthwise_conv: DepthwiseConvParams
    pointwise_conv: PointwiseConvParams


@dataclass
class MobileNetV1Params:
    """The backbone: ``conv_0`` (3x3/2, 3 -> 32) and 13 conv pairs."""

    conv_0: PointwiseConvParams
    conv_pairs: list


@dataclass
class BoxPredictorParams:
    """One SSD head: box encodings (4 per anchor) and class logits (3 per anchor)."""

    box_encoding_predictor: ConvParams
    class_predictor: ConvParams


@dataclass
class PredictionLayerParams:
    """The 8 extra feature convs and the 6 box predictors."""

    convs: list
    box_predictors: list


@dataclass
class OutputLayerParams:
    """The anchors, ``extra_dim`` (1, 5118, 4) as (y_min, x_min, y_max, x_max), relative."""

    extra_dim: np.ndarray


@dataclass
class SsdMobilenetv1Params:
    """The whole SSD param tree: backbone, prediction layer, anchors."""

    mobilenetv1: MobileNetV1Params
    prediction_layer: PredictionLayerParams
    output_layer: OutputLayerParams


def _pointwise(r: ParamReader, scope: str, idx: int, cin: int | None) -> PointwiseConvParams:
    filters = r.take(f"{scope}/Conv2d_{idx}_pointwise/weights", (None, None, cin, None))
    offset = r.take(f"{scope}/Conv2d_{idx}_pointwise/convolution_bn_offset", (filters.shape[3],))
    return PointwiseConvParams(filters, offset)


def _conv_pair(r: ParamReader, idx: int, cin: int) -> ConvPairParams:
    tf = f"MobilenetV1/Conv2d_{idx}_depthwise"
    depthwise = DepthwiseConvParams(
        r.take(f"{tf}/depthwise_weights", (3, 3, cin, 1)),
        r.take(f"{tf}/BatchNorm/gamma", (cin,)),
        r.take(f"{tf}/BatchNorm/beta", (cin,)),
        r.take(f"{tf}/BatchNorm/moving_mean", (cin,)),
        r.take(f"{tf}/BatchNorm/moving_variance", (cin,)),
    )
    return ConvPairParams(depthwise, _pointwise(r, "MobilenetV1", idx, cin))


def extract_params(r: ParamReader) -> SsdMobilenetv1Params:
    """Build the SSD param tree; channel counts are chained from layer to layer."""
    conv_0 = _pointwise(r, "MobilenetV1", 0, 3)
    pairs, c = [], conv_0.filters.shape[3]
    for idx in range(1, 14):
        pairs.append(_conv_pair(r, idx, c))
        c = pairs[-1].pointwise_conv.filters.shape[3]
    conv11_channels = pairs[10].pointwise_conv.filters.shape[3]

    convs, head_channels = [], [conv11_channels, c]
    for idx in range(8):
        convs.append(_pointwise(r, "Prediction", idx, c))
        c = convs[-1].filters.shape[3]
        if idx % 2 == 1:  # conv_1, 3, 5, 7 feed box predictors 2..5
            head_channels.append(c)
    predictors = [
        BoxPredictorParams(
            take_conv(
                r,
                f"Prediction/BoxPredictor_{i}/BoxEncodingPredictor",
                1,
                cin,
                None,
                "weights",
                "biases",
            ),
            take_conv(
                r,
                f"Prediction/BoxPredictor_{i}/ClassPredictor",
                1,
                cin,
                None,
                "weights",
                "biases",
            ),
        )
        for i, cin in enumerate(head_channels)
    ]
    anchors = r.take("Output/extra_dim", (1, NUM_ANCHORS, 4))
    return SsdMobilenetv1Params(
        MobileNetV1Params(conv_0, pairs),
        PredictionLayerParams(convs, predictors),
        OutputLayerParams(anchors),
    )
