"""MTCNN parameters (face-api.js ``src/mtcnn/extractParamsFromWeigthMap.ts``).

Three nets, all float32 in the manifest: ``pnet`` (3 convs + two 1x1 heads), ``rnet``
(3 convs, a dense layer, two dense heads), ``onet`` (4 convs, a dense layer, three
dense heads); every conv and hidden dense layer is followed by a PReLU whose per-channel
slopes are ``<net>/preluN_alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import ConvParams, FCParams, ParamReader, take_conv


@dataclass
class SharedLayerParams:
    """The conv + PReLU trunk every MTCNN net starts with."""

    convs: list  # ConvParams
    alphas: list  # (C,) PReLU slopes


@dataclass
class PNetParams:
    """P-Net: the trunk and its two 1x1 heads."""

    trunk: SharedLayerParams
    conv4_1: ConvParams  # 1x1 -> 2 (face / not face)
    conv4_2: ConvParams  # 1x1 -> 4 (box regression)


@dataclass
class RNetParams:
    """R-Net: the trunk, a dense layer and two dense heads."""

    trunk: SharedLayerParams
    fc1: FCParams
    prelu4_alpha: np.ndarray
    fc2_1: FCParams
    fc2_2: FCParams


@dataclass
class ONetParams:
    """O-Net: the trunk, a 2x2 conv, a dense layer and three dense heads."""

    trunk: SharedLayerParams
    conv4: ConvParams
    prelu4_alpha: np.ndarray
    fc1: FCParams
    prelu5_alpha: np.ndarray
    fc2_1: FCParams
    fc2_2: FCParams
    fc2_3: FCParams  # 5 landmarks: x0..x4, y0..y4


@dataclass
class MtcnnParams:
    """The three nets of one MTCNN weights file."""

    pnet: PNetParams
    rnet: RNetParams
    onet: ONetParams


def _trunk(r: ParamReader, net: str, kernels: tuple) -> SharedLayerParams:
    convs, alphas, c = [], [], 3
    for i, k in enumerate(kernels, start=1):
        conv = take_conv(r, f"{net}/conv{i}", k, c, None, "weights", "bias")
        c = conv.filters.shape[3]
        convs.append(conv)
        alphas.append(r.take(f"{net}/prelu{i}_alpha", (c,)))
    return SharedLayerParams(convs, alphas)


def _fc(r: ParamReader, prefix: str, din: int | None, dout: int | None) -> FCParams:
    w = r.take(f"{prefix}/weights", (din, dout))
    return FCParams(w, r.take(f"{prefix}/bias", (w.shape[1],)))


def extract_params(r: ParamReader) -> MtcnnParams:
    """Build the three nets' param trees, checking every shape."""
    p_trunk = _trunk(r, "pnet", (3, 3, 3))
    pc = p_trunk.convs[-1].filters.shape[3]
    pnet = PNetParams(
        p_trunk,
        take_conv(r, "pnet/conv4_1", 1, pc, 2, "weights", "bias"),
        take_conv(r, "pnet/conv4_2", 1, pc, 4, "weights", "bias"),
    )
    r_trunk = _trunk(r, "rnet", (3, 3, 2))
    fc1 = _fc(r, "rnet/fc1", None, None)
    h = fc1.weights.shape[1]
    rnet = RNetParams(
        r_trunk,
        fc1,
        r.take("rnet/prelu4_alpha", (h,)),
        _fc(r, "rnet/fc2_1", h, 2),
        _fc(r, "rnet/fc2_2", h, 4),
    )
    o_trunk = _trunk(r, "onet", (3, 3, 3))
    oc = o_trunk.convs[-1].filters.shape[3]
    conv4 = take_conv(r, "onet/conv4", 2, oc, None, "weights", "bias")
    c4 = conv4.filters.shape[3]
    fc1 = _fc(r, "onet/fc1", None, None)
    h = fc1.weights.shape[1]
    onet = ONetParams(
        o_trunk,
        conv4,
        r.take("onet/prelu4_alpha", (c4,)),
        fc1,
        r.take("onet/prelu5_alpha", (h,)),
        _fc(r, "onet/fc2_1", h, 2),
        _fc(r, "onet/fc2_2", h, 4),
        _fc(r, "onet/fc2_3", h, 10),
    )
    return MtcnnParams(pnet, rnet, onet)
