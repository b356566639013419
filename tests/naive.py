"""Plain-loop definitions of the convolutions, accumulated in float64: the slow, obviously
correct references every backend's kernels are tested against."""

from __future__ import annotations

import numpy as np

from faceapi_np.backend.geometry import output_size, window_pads


def _pad(x, pads, value=0.0):
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def conv2d_naive(x, w, stride: int = 1, padding="same"):
    """Plain-loop convolution, TF semantics, accumulated in float64."""
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    pads = window_pads(h, wd, kh, kw, stride, padding)
    xp_ = _pad(x.astype(np.float64), pads)
    ho = output_size(h, kh, stride, *pads[0])
    wo = output_size(wd, kw, stride, *pads[1])
    out = np.zeros((n, ho, wo, cout))
    for b in range(n):
        for y in range(ho):
            for xx in range(wo):
                patch = xp_[b, y * stride : y * stride + kh, xx * stride : xx * stride + kw]
                for o in range(cout):
                    out[b, y, xx, o] = np.sum(patch * w[:, :, :, o])
    return out.astype(np.float32)


def depthwise_conv2d_naive(x, w, stride: int = 1, padding="same"):
    """Plain-loop depthwise convolution (channel multiplier 1), accumulated in float64."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    pads = window_pads(h, wd, kh, kw, stride, padding)
    xp_ = _pad(x.astype(np.float64), pads)
    ho = output_size(h, kh, stride, *pads[0])
    wo = output_size(wd, kw, stride, *pads[1])
    out = np.zeros((n, ho, wo, c))
    for b in range(n):
        for y in range(ho):
            for xx in range(wo):
                patch = xp_[b, y * stride : y * stride + kh, xx * stride : xx * stride + kw]
                out[b, y, xx] = np.sum(patch * w[:, :, :, 0], axis=(0, 1))
    return out.astype(np.float32)
