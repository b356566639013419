"""The CuPy backend: every op on an NVIDIA GPU, activations kept on the device.

Each op binds a CUDA kernel through ``faceapi_np.kernels.cupy_ops`` (sources in
``kernels/cuda/``): convolutions are an im2col kernel + a cuBLAS GEMM + one fused
epilogue kernel (a 1x1 conv is the GEMM alone); depthwise convs, pooling and the
pad-and-resize are single kernels. Images go up once (uint8) and net outputs come back
once, for NMS on the host. Results equal the NumPy backend's to float32 rounding (TF32
stays off unless ``CUPY_TF32=1``).

Importing this module imports cupy; :func:`create` raises when cupy is missing or no GPU
is usable, and 'auto' then moves on to the next backend.
"""

from __future__ import annotations

import cupy as cp

from ..errors import BackendError
from ..kernels import (
    cupy_ops,
)  # noqa: E402  (imports cupy: only when this backend is asked for)
from .base import Backend, KernelBackend


class CupyBackend(KernelBackend):
    """GPU backend on CuPy (float32, device memory)."""

    name = "cupy"

    def __init__(self):
        super().__init__(cp)

    def to_numpy(self, a):
        """Copy a device array back to the host (host arrays pass through)."""
        return cp.asnumpy(a) if isinstance(a, cp.ndarray) else a

    def synchronize(self):
        """Wait for the GPU (the benchmark calls this before reading the clock)."""
        cp.cuda.Device().synchronize()

    def _im2col(self, x, kh, kw, stride, pad_top, pad_left, ho, wo):
        return cupy_ops.im2col(x, kh, kw, stride, pad_top, pad_left, ho, wo)

    def _epilogue(self, y, bias, scale, residual, act):
        cupy_ops.conv_epilogue(y, bias, scale, residual, act)

    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        return cupy_ops.depthwise_conv(x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input)

    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        return cupy_ops.pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max)

    def _resize(self, image, size, side, off_y, off_x):
        return cupy_ops.resize_to_square(image, size, side, off_y, off_x)


def create() -> Backend:
    """Factory used by :func:`faceapi_np.backend.get_backend`; fails clearly without a GPU."""
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except cp.cuda.runtime.CUDARuntimeError as exc:
        raise BackendError(f"backend 'cupy' is not usable here: no CUDA device ({exc})") from None
    if count < 1:
        raise BackendError("backend 'cupy' is not usable here: no CUDA device")
    bk = CupyBackend()
    x = cp.ones((1, 3, 3, 2), cp.float32)  # compile and run each kernel once, so failures show now
    bk.conv2d(
        x,
        cp.ones((3, 3, 2, 2), cp.float32),
        2,
        "same",
        bias=cp.ones(2, cp.float32),
        act="relu6",
    )
    bk.depthwise_conv2d(x, cp.ones((3, 3, 2, 1), cp.float32), 1, "same", act="leaky")
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(cp.ones((2, 3, 3), cp.uint8), 4, True)
    bk.synchronize()
    return bk
