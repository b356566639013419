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
from .base import Backend
from .geometry import conv_geometry, square_placement
from ..kernels import cupy_ops  # noqa: E402  (imports cupy: only when this backend is asked for)


def _f32(a):
    return cp.ascontiguousarray(cp.asarray(a, dtype=cp.float32))


class CupyBackend(Backend):
    """GPU backend on CuPy (float32, device memory)."""

    name = "cupy"

    def __init__(self):
        super().__init__(cp)

    def to_numpy(self, a):
        return cp.asnumpy(a) if isinstance(a, cp.ndarray) else a

    def synchronize(self):
        """Wait for the GPU (the benchmark calls this before reading the clock)."""
        cp.cuda.Device().synchronize()

    def conv2d(self, x, w, stride=1, padding="same", bias=None, scale=None, residual=None, act=None):
        x, w, stride = _f32(x), _f32(w), int(stride)
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        if kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd):
            cols = x.reshape(-1, cin)
        else:
            cols = cupy_ops.im2col(x, kh, kw, stride, pt, pl, ho, wo)
        y = cp.matmul(cols, w.reshape(kh * kw * cin, cout))  # cuBLAS SGEMM
        sc = None if scale is None else (_f32(scale[0]), _f32(scale[1]))
        res = None if residual is None else _f32(residual).reshape(-1, cout)
        cupy_ops.conv_epilogue(y, None if bias is None else _f32(bias), sc, res, act)
        return y.reshape(n, ho, wo, cout)

    def depthwise_conv2d(self, x, w, stride=1, padding="same", bn=None, act=None):
        x, stride = _f32(x), int(stride)
        n, h, wd, c = x.shape
        kh, kw = w.shape[:2]
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        bn = None if bn is None else tuple(_f32(v) for v in bn)
        return cupy_ops.depthwise_conv(x, _f32(w[:, :, :, 0]), stride, pt, pl, ho, wo, bn, act)

    def _pool(self, x, k, stride, padding, is_max):
        x, k, stride = _f32(x), int(k), int(stride)
        n, h, w, c = x.shape
        pt, pl, ho, wo = conv_geometry(h, w, k, k, stride, padding)
        return cupy_ops.pool2d(x, k, stride, pt, pl, ho, wo, is_max)

    def max_pool(self, x, k, stride, padding="same"):
        return self._pool(x, k, stride, padding, True)

    def avg_pool(self, x, k, stride, padding="valid"):
        return self._pool(x, k, stride, padding, False)

    def resize_to_square(self, image, size, center=False):
        img = cp.asarray(image)
        if img.dtype not in (cp.uint8, cp.float32):
            img = img.astype(cp.float32)
        img = cp.ascontiguousarray(img)
        side, off_y, off_x = square_placement(*img.shape[:2], center)
        return cupy_ops.resize_to_square(img, size, side, off_y, off_x)


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
    bk.conv2d(x, cp.ones((3, 3, 2, 2), cp.float32), 2, "same", bias=cp.ones(2, cp.float32), act="relu6")
    bk.depthwise_conv2d(x, cp.ones((3, 3, 2, 1), cp.float32), 1, "same", act="leaky")
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(cp.ones((2, 3, 3), cp.uint8), 4, True)
    bk.synchronize()
    return bk
