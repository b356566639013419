"""The NumPy reference backend: always available, readable, reasonably fast.

``conv2d`` is im2col + one matrix product (a 1x1 stride-1 conv is the matrix product
alone); ``depthwise_conv2d`` sums ``KH * KW`` shifted, strided slices of the padded
input; pooling takes the max or mean of ``k * k`` shifted slices. Epilogues are applied
in the order face-api.js applies the same ops. The plain-loop definitions every backend
is held to live with the tests (``tests/naive.py``).
"""

from __future__ import annotations

import numpy as np

from ..activations import activate
from ..ops import pad_to_square
from .base import Backend, normalize_input
from .geometry import check_filter, output_size, square_placement, window_pads


def _pad(x, pads, value=0.0):
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


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
            tap = xp_[
                :,
                i : i + (ho - 1) * stride + 1 : stride,
                j : j + (wo - 1) * stride + 1 : stride,
            ]
            out += tap * w[i, j, :, 0]
    return out


def _windows(x, k: int, stride: int, padding, fill):
    """Padded input, its pads, and the (row, column) slices of each of the k*k taps."""
    n, h, w, c = x.shape
    pads = window_pads(h, w, k, k, stride, padding)
    ho = output_size(h, k, stride, *pads[0])
    wo = output_size(w, k, stride, *pads[1])
    taps = [
        (
            slice(i, i + (ho - 1) * stride + 1, stride),
            slice(j, j + (wo - 1) * stride + 1, stride),
        )
        for i in range(k)
        for j in range(k)
    ]
    return _pad(x, pads, fill), pads, taps


def max_pool(x, k: int, stride: int, padding="same"):
    """Max of the ``k * k`` taps; padding is -inf so it never wins."""
    xp_, _, taps = _windows(x, k, stride, padding, -np.inf)
    out = xp_[:, taps[0][0], taps[0][1]]
    for sy, sx in taps[1:]:
        out = np.maximum(out, xp_[:, sy, sx])
    return out


def avg_pool(x, k: int, stride: int, padding="valid"):
    """Mean of the ``k * k`` taps, counting only cells inside the input."""
    xp_, pads, taps = _windows(x, k, stride, padding, 0.0)
    total = xp_[:, taps[0][0], taps[0][1]]
    for sy, sx in taps[1:]:
        total = total + xp_[:, sy, sx]
    if pads == ((0, 0), (0, 0)):
        return total / np.float32(k * k)
    ones, _, _ = _windows(np.ones((1,) + x.shape[1:3] + (1,), np.float32), k, stride, padding, 0.0)
    return total / sum(ones[:, sy, sx] for sy, sx in taps)


class NumpyBackend(Backend):
    """Reference backend on NumPy (float32, host memory)."""

    name = "numpy"

    def __init__(self):
        super().__init__(np)

    def conv2d(
        self,
        x,
        w,
        stride=1,
        padding="same",
        bias=None,
        scale=None,
        residual=None,
        act=None,
        input_norm=None,
        max_pool=None,
    ):
        """See :meth:`Backend.conv2d`."""
        check_filter(x.shape, w.shape)
        y = conv2d(normalize_input(x, input_norm, self.xp), w, stride, padding)
        if bias is not None:
            y = y + bias
        if scale is not None:
            y = y * scale[0] + scale[1]
        if residual is not None:
            y = y + residual
        y = activate(y, act, self.xp)
        return self._pooled(y, max_pool)

    def depthwise_conv2d(self, x, w, stride=1, padding="same", bn=None, act=None, input_act=None):
        """See :meth:`Backend.depthwise_conv2d`."""
        check_filter(x.shape, w.shape, "depthwise_conv2d")
        y = depthwise_conv2d(activate(x, input_act, self.xp), w, stride, padding)
        if bn is not None:
            mean, inv, offset = bn
            y = (y - mean) * inv + offset
        return activate(y, act, self.xp)

    def max_pool(self, x, k, stride, padding="same"):
        """See :meth:`Backend.max_pool`."""
        return max_pool(x, k, stride, padding)

    def avg_pool(self, x, k, stride, padding="valid"):
        """See :meth:`Backend.avg_pool`."""
        return avg_pool(x, k, stride, padding)

    def resize_to_square(self, image, size, center=False):
        """See :meth:`Backend.resize_to_square`."""
        return resize_to_square(image, size, center)


def resize_to_square(image, size: int, center: bool = False):
    """``pad_to_square`` then ``resize_bilinear`` (:mod:`faceapi_np.ops`), bit for bit,
    reading only the source pixels the resize samples.

    The two-step reference pads a photo to a full square and converts all of it to
    float64 (a 1920x1280 photo: 88 MB) to sample 512 x 512 x 4 values; here each of the
    four neighbour grids is gathered straight from the unpadded image (zero where the
    square's padding would be) and only those are converted. The arithmetic is the
    reference's, on the same values, in the same order.

    Parameters
    ----------
    image : array (H, W, C), uint8 or any float
    size : int
    center : bool

    Returns
    -------
    array (size, size, C), float32
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = img.astype(np.float32, copy=False)  # the reference's first step
    h, w = img.shape[:2]
    side, off_y, off_x = square_placement(h, w, center)
    if side == size:  # no resize: the padded square itself
        return pad_to_square(img[None], center=center)[0]
    fy = (side / size) * np.arange(size, dtype=np.float64)  # as ops.resize_bilinear
    y0 = np.floor(fy).astype(np.int64)
    y1 = np.minimum(side - 1, np.ceil(fy).astype(np.int64))
    dy = (fy - y0)[:, None, None]
    dx = dy.reshape(1, -1, 1)  # the square: columns sample as rows do

    def grid(rows, cols):  # square[rows][:, cols] as float64, zero in the padding
        r, c = rows - off_y, cols - off_x
        out = img[np.clip(r, 0, h - 1)][:, np.clip(c, 0, w - 1)].astype(np.float64)
        out[(r < 0) | (r >= h)] = 0.0
        out[:, (c < 0) | (c >= w)] = 0.0
        return out

    tl, tr, bl, br = grid(y0, y0), grid(y0, y1), grid(y1, y0), grid(y1, y1)
    top = tl + (tr - tl) * dx
    bot = bl + (br - bl) * dx
    return (top + (bot - top) * dy).astype(np.float32)


def create() -> Backend:
    """Factory used by :func:`faceapi_np.backend.get_backend`."""
    return NumpyBackend()
