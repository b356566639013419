"""Thin CuPy wrappers around the CUDA kernels in ``kernels/cuda/``.

Each ``.cu`` file is compiled once per process with ``cupy.RawModule`` (NVRTC; CuPy also
caches the binary on disk) and its ``extern "C"`` kernels are launched here with a
grid-stride configuration. Matrix products go to cuBLAS through ``cupy.matmul``; CuPy
uses full float32 there unless ``CUPY_TF32=1`` is set (faster on Ampere/Hopper, about
1e-3 relative error, so off by default for parity).

Importing this module imports cupy; ``faceapi_np.backend.cupy_backend`` does so only
when the cupy backend is asked for.
"""

from __future__ import annotations

from pathlib import Path

import cupy as cp

from ..activations import ACT_CODES  # the codes activation.cuh switches on

CUDA_DIR = Path(__file__).resolve().parent / "cuda"

#: Kernel name -> the .cu file defining it (tests check this against the sources).
KERNELS = {
    "conv_epilogue": "epilogue.cu",
    "im2col": "im2col.cu",
    "depthwise_conv": "depthwise.cu",
    "pool2d": "pool.cu",
    "resize_to_square_u8": "resize.cu",
    "resize_to_square_f32": "resize.cu",
}
THREADS = 256
MAX_BLOCKS = 65535 * 8

_modules: dict[str, cp.RawModule] = {}


def launch_config(total: int, threads: int = THREADS) -> tuple[tuple[int], tuple[int]]:
    """(grid, block) for a grid-stride loop over ``total`` elements."""
    blocks = max(1, min(MAX_BLOCKS, (int(total) + threads - 1) // threads))
    return (blocks,), (threads,)


def kernel(name: str):
    """The compiled kernel ``name`` (compiling its .cu file on first use)."""
    path = KERNELS[name]
    if path not in _modules:
        source = (CUDA_DIR / path).read_text()
        _modules[path] = cp.RawModule(code=source, options=("--std=c++14", f"-I{CUDA_DIR}"))
    return _modules[path].get_function(name)


def _i(v) -> cp.int32:
    return cp.int32(int(v))


def conv_epilogue(y, bias, scale, residual, act):
    """In place on ``y`` (M, C): bias, scale (weights, biases), residual, activation."""
    m, c = y.shape
    dummy = y  # any float pointer for absent terms; the flags keep the kernel off it
    flags = (bias is not None) | ((scale is not None) << 1) | ((residual is not None) << 2)
    if flags == 0 and act is None:
        return y
    sw, sb = (dummy, dummy) if scale is None else scale
    grid, block = launch_config(y.size)
    kernel("conv_epilogue")(
        grid,
        block,
        (
            y,
            dummy if bias is None else bias,
            sw,
            sb,
            dummy if residual is None else residual,
            cp.int64(y.size),
            _i(c),
            _i(ACT_CODES[act]),
            _i(flags),
        ),
    )
    return y


def im2col(x, kh, kw, stride, pad_top, pad_left, ho, wo):
    """(N*Ho*Wo, KH*KW*C) receptive fields of x (N, H, W, C), zero outside."""
    n, h, w, c = x.shape
    cols = cp.empty((n * ho * wo, kh * kw * c), dtype=cp.float32)
    grid, block = launch_config(cols.size)
    kernel("im2col")(
        grid,
        block,
        (
            x,
            cols,
            _i(n),
            _i(h),
            _i(w),
            _i(c),
            _i(kh),
            _i(kw),
            _i(stride),
            _i(pad_top),
            _i(pad_left),
            _i(ho),
            _i(wo),
        ),
    )
    return cols


def depthwise_conv(x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input=False):
    """Depthwise conv of x (N, H, W, C) with w (KH, KW, C); input ReLU, batch norm ``bn`` and
    activation fused."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    y = cp.empty((n, ho, wo, c), dtype=cp.float32)
    mean, inv, offset = (y, y, y) if bn is None else bn
    grid, block = launch_config(y.size)
    kernel("depthwise_conv")(
        grid,
        block,
        (
            x,
            w,
            y,
            mean,
            inv,
            offset,
            _i(n),
            _i(h),
            _i(wd),
            _i(c),
            _i(kh),
            _i(kw),
            _i(stride),
            _i(pad_top),
            _i(pad_left),
            _i(ho),
            _i(wo),
            _i(bn is not None),
            _i(ACT_CODES[act]),
            _i(relu_input),
        ),
    )
    return y


def pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max):
    """Max or average pooling of x (N, H, W, C)."""
    n, h, w, c = x.shape
    y = cp.empty((n, ho, wo, c), dtype=cp.float32)
    grid, block = launch_config(y.size)
    kernel("pool2d")(
        grid,
        block,
        (
            x,
            y,
            _i(n),
            _i(h),
            _i(w),
            _i(c),
            _i(k),
            _i(stride),
            _i(pad_top),
            _i(pad_left),
            _i(ho),
            _i(wo),
            _i(is_max),
        ),
    )
    return y


def resize_to_square(img, size, side, off_y, off_x):
    """(size, size, 3) float32 from img (H, W, 3) uint8 or float32 placed in a zero square of ``side``."""
    h, w = img.shape[:2]
    out = cp.empty((size, size, 3), dtype=cp.float32)
    name = "resize_to_square_u8" if img.dtype == cp.uint8 else "resize_to_square_f32"
    grid, block = launch_config(out.size)
    kernel(name)(grid, block, (img, out, _i(h), _i(w), _i(size), _i(side), _i(off_y), _i(off_x)))
    return out
