"""The NumPy reference backend: always available, readable, reasonably fast.

``conv2d`` is im2col + one matrix product (a 1x1 stride-1 conv is the matrix product
alone); ``depthwise_conv2d`` sums ``KH * KW`` shifted, strided slices of the padded
input. ``conv2d_naive`` and ``depthwise_conv2d_naive`` are the plain-loop definitions the
tests hold every backend to.
"""

from __future__ import annotations

import numpy as np

from .base import Backend
from .geometry import output_size, window_pads


def _pad(x, pads):
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))


def conv2d(x, w, stride: int = 1, padding="same"):
    """Regular 2-D convolution (TF ``conv2d``), im2col + matmul.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C_in), float32
    w : ndarray, shape (KH, KW, C_in, C_out), float32
    stride : int
    padding : 'same' | 'valid' | int

    Returns
    -------
    ndarray, shape (N, H', W', C_out), float32
    """
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    if kh == kw == 1 and stride == 1 and padding in ("same", "valid", 0):
        return (x.reshape(-1, cin) @ w.reshape(cin, cout)).reshape(n, h, wd, cout)
    pads = window_pads(h, wd, kh, kw, stride, padding)
    xp_ = _pad(x, pads)
    ho = output_size(h, kh, stride, *pads[0])
    wo = output_size(wd, kw, stride, *pads[1])
    # (N, Ho, Wo, KH, KW, C_in) view of every window, then one copy into im2col rows
    win = np.lib.stride_tricks.sliding_window_view(xp_, (kh, kw), axis=(1, 2))
    win = win[:, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * cin)
    return (cols @ w.reshape(kh * kw * cin, cout)).reshape(n, ho, wo, cout)


def depthwise_conv2d(x, w, stride: int = 1, padding="same"):
    """Depthwise 2-D convolution (TF ``depthwiseConv2d``, channel multiplier 1).

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    w : ndarray, shape (KH, KW, C, 1)

    Returns
    -------
    ndarray, shape (N, H', W', C)
    """
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    pads = window_pads(h, wd, kh, kw, stride, padding)
    xp_ = _pad(x, pads)
    ho = output_size(h, kh, stride, *pads[0])
    wo = output_size(wd, kw, stride, *pads[1])
    out = np.zeros((n, ho, wo, c), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            tap = xp_[:, i : i + (ho - 1) * stride + 1 : stride, j : j + (wo - 1) * stride + 1 : stride]
            out += tap * w[i, j, :, 0]
    return out


def conv2d_naive(x, w, stride: int = 1, padding="same"):
    """Plain-loop definition of :func:`conv2d`, accumulated in float64 (tests only)."""
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
    """Plain-loop definition of :func:`depthwise_conv2d` (tests only)."""
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


class NumpyBackend(Backend):
    """Reference backend on NumPy (float32, host memory)."""

    name = "numpy"

    def __init__(self):
        super().__init__(np)

    def conv2d(self, x, w, stride=1, padding="same"):
        return conv2d(x, w, stride, padding)

    def depthwise_conv2d(self, x, w, stride=1, padding="same"):
        return depthwise_conv2d(x, w, stride, padding)


def create() -> Backend:
    """Factory used by :func:`faceapi_np.backend.get_backend`."""
    return NumpyBackend()
