"""A stand-in for the ``cupy`` module, on NumPy, for testing the CuPy backend without a GPU.

Array functions fall through to NumPy; ``RawModule`` checks that each kernel asked for is
defined in the CUDA source it was given and returns a NumPy emulation of it that follows
the kernel's documented arguments. With it, ``faceapi_np.backend.cupy_backend`` and
``kernels/cupy_ops.py`` run their real Python code — argument order, flags, shapes,
launch configuration — and whole nets can be compared with the NumPy backend. The CUDA
arithmetic itself is only checked on a GPU (``scripts/gpu_check.sh``).
"""

from __future__ import annotations

import re
import types

import numpy as np

from faceapi_np.backend import numpy_backend as ref
from faceapi_np.layers import activate

ACT_NAMES = {0: None, 1: "relu", 2: "relu6", 3: "leaky"}
_NUMPY_BK = ref.NumpyBackend()


def _act(v, code):
    return activate(v, ACT_NAMES[int(code)], _NUMPY_BK)


def conv_epilogue(y, bias, sw, sb, res, total, channels, act, flags):
    v = y.reshape(-1, int(channels))
    assert v.size == int(total)
    if flags & 1:
        v += bias
    if flags & 2:
        v *= sw
        v += sb
    if flags & 4:
        v += res.reshape(v.shape)
    v[...] = _act(v, act)


def _windows(x, kh, kw, stride, pt, pl, ho, wo):
    """(N, Ho, Wo, KH, KW, C) receptive fields, zero outside."""
    n, h, w, c = x.shape
    pad = np.zeros((n, h + ho * stride + kh, w + wo * stride + kw, c), np.float32)
    pad[:, pt : pt + h, pl : pl + w] = x
    out = np.empty((n, ho, wo, kh, kw, c), np.float32)
    for ky in range(kh):
        for kx in range(kw):
            out[:, :, :, ky, kx] = pad[
                :, ky : ky + ho * stride : stride, kx : kx + wo * stride : stride
            ][:, :ho, :wo]
    return out


def im2col(x, cols, n, h, w, c, kh, kw, stride, pt, pl, ho, wo):
    assert x.shape == (int(n), int(h), int(w), int(c))
    cols[...] = _windows(
        x, int(kh), int(kw), int(stride), int(pt), int(pl), int(ho), int(wo)
    ).reshape(cols.shape)


def depthwise_conv(
    x,
    w,
    y,
    mean,
    inv,
    offset,
    n,
    h,
    wd,
    c,
    kh,
    kw,
    stride,
    pt,
    pl,
    ho,
    wo,
    has_bn,
    act,
    relu_input,
):
    win = _windows(
        np.maximum(x, 0) if relu_input else x,
        int(kh),
        int(kw),
        int(stride),
        int(pt),
        int(pl),
        int(ho),
        int(wo),
    )
    acc = np.einsum("nhwijc,ijc->nhwc", win, w.reshape(int(kh), int(kw), int(c))).astype(np.float32)
    if has_bn:
        acc = (acc - mean) * inv + offset
    y[...] = _act(acc, act)


def pool2d(x, y, n, h, w, c, k, stride, pt, pl, ho, wo, is_max):
    k, stride, pt, pl, ho, wo = (int(v) for v in (k, stride, pt, pl, ho, wo))
    if is_max:
        pad = np.full(
            (int(n), int(h) + ho * stride + k, int(w) + wo * stride + k, int(c)),
            -np.inf,
            np.float32,
        )
        pad[:, pt : pt + int(h), pl : pl + int(w)] = x
        out = np.full(y.shape, -np.inf, np.float32)
        for ky in range(k):
            for kx in range(k):
                out = np.maximum(
                    out,
                    pad[
                        :,
                        ky : ky + ho * stride : stride,
                        kx : kx + wo * stride : stride,
                    ][:, :ho, :wo],
                )
        y[...] = out
    else:
        win = _windows(x, k, k, stride, pt, pl, ho, wo)
        ones = _windows(np.ones_like(x[:1, :, :, :1]), k, k, stride, pt, pl, ho, wo)
        y[...] = win.sum(axis=(3, 4)) / ones.sum(axis=(3, 4))


def _resize(img, out, h, w, size, side, off_y, off_x):
    sq = np.zeros((1, int(side), int(side), 3), np.float32)
    sq[0, int(off_y) : int(off_y) + int(h), int(off_x) : int(off_x) + int(w)] = img
    from faceapi_np.ops import resize_bilinear

    out[...] = sq[0] if int(side) == int(size) else resize_bilinear(sq, int(size), int(size))[0]


EMULATORS = {
    "conv_epilogue": conv_epilogue,
    "im2col": im2col,
    "depthwise_conv": depthwise_conv,
    "pool2d": pool2d,
    "resize_to_square_u8": _resize,
    "resize_to_square_f32": _resize,
}


class RawModule:
    """Records the source; ``get_function`` checks the kernel is defined in it."""

    launches: list = []

    def __init__(self, code: str, options=()):
        self.code = code

    def get_function(self, name: str):
        assert re.search(rf'extern "C" __global__ void {name}\(', self.code), (
            f"{name} not in the source"
        )

        def launch(grid, block, args):
            assert len(grid) == 1 and len(block) == 1 and grid[0] >= 1
            RawModule.launches.append(name)
            EMULATORS[name](*args)

        return launch


class _Runtime:
    class CUDARuntimeError(RuntimeError):
        pass

    @staticmethod
    def getDeviceCount():
        return 1


class _Device:
    def synchronize(self):
        pass


def make_module() -> types.ModuleType:
    """A fresh ``cupy`` stand-in module."""
    mod = types.ModuleType("cupy")
    mod.__getattr__ = lambda name: getattr(np, name)  # everything else is NumPy
    mod.RawModule = RawModule
    mod.asnumpy = np.asarray
    mod.cuda = types.SimpleNamespace(runtime=_Runtime, Device=_Device)
    return mod
