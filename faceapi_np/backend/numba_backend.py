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

from .base import Backend, KernelBackend

# numba's OpenMP threads spin after each parallel kernel, stealing the cores from the
# BLAS threads of the matrix product that follows (measured: convs 3x slower). Passive
# waiting must be set before the OpenMP runtime loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Importing these imports numba: this module is only imported when the backend is asked for.
from ..kernels.numba import conv2d as conv_kernels  # noqa: E402
from ..kernels.numba import depthwise, epilogue, pool, resize  # noqa: E402

_EMPTY = np.zeros(0, np.float32)
_EMPTY2 = np.zeros((0, 0), np.float32)


class NumbaBackend(KernelBackend):
    """CPU backend running numba kernels and BLAS (float32, host memory)."""

    name = "numba"

    def __init__(self):
        super().__init__(np)

    def _im2col(self, x, kh, kw, stride, pad_top, pad_left, ho, wo):
        return conv_kernels.im2col(x, kh, kw, stride, pad_top, pad_left, ho, wo)

    def _epilogue(self, y, bias, scale, residual, act):
        sw, sb = (_EMPTY, _EMPTY) if scale is None else scale
        epilogue.epilogue(
            y,
            _EMPTY if bias is None else bias,
            sw,
            sb,
            _EMPTY2 if residual is None else residual,
            epilogue.ACT_CODES[act],
        )

    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        mean, inv, offset = (_EMPTY, _EMPTY, _EMPTY) if bn is None else bn
        kernel = depthwise.depthwise3x3 if w.shape[:2] == (3, 3) else depthwise.depthwise_conv2d
        return kernel(
            x,
            w,
            stride,
            pad_top,
            pad_left,
            ho,
            wo,
            mean,
            inv,
            offset,
            epilogue.ACT_CODES[act],
            relu_input,
        )

    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        if k == 2 and pad_top == pad_left == 0:
            # no window clipped when the last one ends inside the input (always true for max,
            # which the clamped reads of pool2x2 cannot change)
            inside = (ho - 1) * stride + 2 <= x.shape[1] and (wo - 1) * stride + 2 <= x.shape[2]
            if is_max or inside:
                return pool.pool2x2(x, stride, ho, wo, is_max)
        return pool.pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max)

    def _resize(self, image, size, side, off_y, off_x):
        return resize.resize_to_square(image, size, side, off_y, off_x)


def create() -> Backend:
    """Factory used by :func:`faceapi_np.backend.get_backend`.

    Runs every kernel once on a tiny input, so that a numba that cannot compile here is
    found now (and 'auto' falls back to NumPy) rather than in the middle of a net.
    """
    bk = NumbaBackend()
    x = np.ones((1, 3, 3, 2), np.float32)
    bk.conv2d(
        x,
        np.ones((3, 3, 2, 2), np.float32),
        2,
        "same",
        bias=np.ones(2, np.float32),
        act="relu6",
    )
    bk.depthwise_conv2d(x, np.ones((3, 3, 2, 1), np.float32), 1, "same", act="leaky")
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(np.ones((2, 3, 3), np.uint8), 4, True)
    return bk
