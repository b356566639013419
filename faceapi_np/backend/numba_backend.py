"""The numba backend: the same ops as the NumPy reference, as compiled CPU kernels.

Each op binds a kernel in ``faceapi_np.kernels.numba`` (see ``kernels/README.md``):
convolutions are im2col (numba) + BLAS matrix product + one fused epilogue pass;
depthwise convolutions, pooling and the pad-and-resize are single parallel kernels.
Kernels are compiled on first use and cached on disk (``cache=True``), so a second
process starts fast. Results equal the NumPy backend's to float32 rounding (tests hold
them to 1e-5 relative).
"""

from __future__ import annotations

import os

import numpy as np

from .base import Backend
from .geometry import conv_geometry, square_placement

# numba's OpenMP threads spin after each parallel kernel, stealing the cores from the
# BLAS threads of the matrix product that follows (measured: convs 3x slower). Passive
# waiting must be set before the OpenMP runtime loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Importing these imports numba: this module is only imported when the backend is asked for.
from ..kernels.numba import conv2d as conv_kernels  # noqa: E402
from ..kernels.numba import depthwise, epilogue, pool, resize  # noqa: E402

_EMPTY = np.zeros(0, np.float32)
_EMPTY2 = np.zeros((0, 0), np.float32)


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def _vec(a):
    return _EMPTY if a is None else _f32(a)


class NumbaBackend(Backend):
    """CPU backend running numba kernels and BLAS (float32, host memory)."""

    name = "numba"

    def __init__(self):
        super().__init__(np)

    def conv2d(self, x, w, stride=1, padding="same", bias=None, scale=None, residual=None, act=None):
        x, stride = _f32(x), int(stride)
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        if kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd):
            cols = x.reshape(-1, cin)
        else:
            cols = conv_kernels.im2col(x, kh, kw, stride, pt, pl, ho, wo)
        y = cols @ _f32(w).reshape(kh * kw * cin, cout)  # BLAS sgemm
        sw, sb = (_EMPTY, _EMPTY) if scale is None else (_f32(scale[0]), _f32(scale[1]))
        res = _EMPTY2 if residual is None else _f32(residual).reshape(-1, cout)
        epilogue.epilogue(y, _vec(bias), sw, sb, res, epilogue.ACT_CODES[act])
        return y.reshape(n, ho, wo, cout)

    def depthwise_conv2d(self, x, w, stride=1, padding="same", bn=None, act=None):
        x, stride = _f32(x), int(stride)
        n, h, wd, c = x.shape
        kh, kw = w.shape[:2]
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        mean, inv, offset = (_EMPTY, _EMPTY, _EMPTY) if bn is None else tuple(_f32(v) for v in bn)
        return depthwise.depthwise_conv2d(x, _f32(w[:, :, :, 0]), stride, pt, pl, ho, wo,
                                          mean, inv, offset, epilogue.ACT_CODES[act])

    def _pool(self, x, k, stride, padding, is_max):
        x, k, stride = _f32(x), int(k), int(stride)
        n, h, w, c = x.shape
        pt, pl, ho, wo = conv_geometry(h, w, k, k, stride, padding)
        return pool.pool2d(x, k, stride, pt, pl, ho, wo, is_max)

    def max_pool(self, x, k, stride, padding="same"):
        return self._pool(x, k, stride, padding, True)

    def avg_pool(self, x, k, stride, padding="valid"):
        return self._pool(x, k, stride, padding, False)

    def resize_to_square(self, image, size, center=False):
        img = np.ascontiguousarray(image)
        if img.dtype not in (np.uint8, np.float32):
            img = img.astype(np.float32)
        side, off_y, off_x = square_placement(*img.shape[:2], center)
        return resize.resize_to_square(img, size, side, off_y, off_x)


def create() -> Backend:
    """Factory used by :func:`faceapi_np.backend.get_backend`.

    Runs every kernel once on a tiny input, so that a numba that cannot compile here is
    found now (and 'auto' falls back to NumPy) rather than in the middle of a net.
    """
    bk = NumbaBackend()
    x = np.ones((1, 3, 3, 2), np.float32)
    bk.conv2d(x, np.ones((3, 3, 2, 2), np.float32), 2, "same", bias=np.ones(2, np.float32), act="relu6")
    bk.depthwise_conv2d(x, np.ones((3, 3, 2, 1), np.float32), 1, "same", act="leaky")
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(np.ones((2, 3, 3), np.uint8), 4, True)
    return bk
