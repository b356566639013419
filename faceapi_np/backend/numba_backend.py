"""The numba backend: the same ops as the NumPy reference, as compiled CPU kernels.

Each op binds a kernel in ``faceapi_np.kernels.numba`` (see ``kernels/README.md``), and
each is one parallel kernel. A convolution is cut into tiles (``numba_tiling.py``) that
numba's threads share; each tile is gathered into a per-thread buffer that stays in
cache, multiplied by the filter (``gemm.py``: a register-blocked product against the
filter packed once, kept with the weights), and finished by the fused epilogue (bias,
scale, residual, activation) while it is still in cache. Which kernel a conv gets:

* 3x3 stride 1, >= 16 channels, at least as many output pixels as filters: Winograd
  F(2x2, 3x3) (``winograd.py``);
* an input with <= 4 channels (first layers): gathered along x only (``conv2d.py``);
* otherwise im2col tiles, or none for a 1x1 conv (``conv2d.py``); with fewer output
  pixels than filters the tiles are blocks of channels;
* a 3x3 depthwise conv and the 1x1 conv after it: one kernel (``separable.py``).

Kernels are compiled on first use and cached on disk (``cache=True``). Results equal the
NumPy backend's to float32 rounding (tests hold them to 1e-5 relative).
"""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np

from . import _blas, _memory, numba_cache
from .base import Backend, KernelBackend
from .numba_tiling import (
    FEW_CHANNELS,
    TILE_FLOATS,
    WINOGRAD_FLOATS,
    WINOGRAD_MIN_C,
    channel_block,
    row_tile,
    tiles,
)

numba_cache.install()  # before the kernels are defined: where their compiled code is kept
# Importing these imports numba: this module is only imported when the backend is asked for.
import numba  # noqa: E402

from ..kernels.numba import conv2d as conv_kernels  # noqa: E402
from ..kernels.numba import depthwise, epilogue, gemm, pool, resize, separable, winograd  # noqa: E402
from .numba_threads import launches, threads_for  # noqa: E402

_EMPTY = np.zeros(0, np.float32)
_EMPTY2 = np.zeros((0, 0), np.float32)


class NumbaBackend(KernelBackend):
    """CPU backend running numba kernels (float32, host memory)."""

    name = "numba"

    def __init__(self):
        super().__init__(np)
        # the few products left to NumPy (dense layers) run on one thread: BLAS's own
        # threads would spin on the cores the next kernel needs (see _blas)
        _blas.pin_this_thread()
        _memory.keep_freed_memory()  # activations reuse freed pages: no page faults a pass
        self._local = threading.local()  # scratch buffers, one set per calling thread
        self._filters = {}  # (id(filter), how) -> (weak reference, derived filter)
        self._launch_lock = None  # set by create() where the threading layer needs one
        self.winograd = os.environ.get("FACEAPI_NP_WINOGRAD", "1") != "0"

    def _scratch(self, threads: int, size: int, slot: int = 0) -> np.ndarray:
        """This calling thread's (threads, >= size) scratch buffers number ``slot``: one row
        per kernel thread, so that they never share one. Grown, never shrunk, and kept
        with rows for numba's whole thread count (ops alternate between 1 and 2 threads)."""
        bufs = getattr(self._local, "scratch", None)
        if bufs is None:
            bufs = self._local.scratch = {}
        buf = bufs.get(slot)
        if buf is None or buf.shape[0] < threads or buf.shape[1] < size:
            rows = max(threads, numba.get_num_threads(), 0 if buf is None else buf.shape[0])
            cols = max(size, 1, 0 if buf is None else buf.shape[1])
            buf = bufs[slot] = np.empty((rows, cols), np.float32)
        return buf[:threads]

    def _derived(self, w: np.ndarray, how: tuple, make) -> np.ndarray:
        """``make(w)``, made once per filter array and ``how`` and kept beside the filter
        (the filter packed for the product, its Winograd transform, without its
        padding-only taps)."""
        key = (id(w), how)
        hit = self._filters.get(key)
        if hit is not None and hit[0]() is w:
            return hit[1]
        derived = make(w)
        # dropped with the filter (a net's weights live as long as the net)
        self._filters[key] = (weakref.ref(w, lambda _, k=key: self._filters.pop(k, None)), derived)
        return derived

    @launches
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
    ):
        """See :meth:`Backend.conv2d`: tiles of im2col + packed product + fused epilogue."""
        from .geometry import conv_geometry, live_taps

        x, w, stride = self._f32(x), self._f32(w), int(stride)
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        # taps that read only padding for every output add zeros: drop them (the
        # recognition net's last 3x3 conv sees a 1x1 map and is a 1x1 conv: 0.43 ->
        # 0.05 ms, no longer reading 8/9 of its filter for nothing)
        taps = live_taps(h, kh, stride, pt, ho) + live_taps(wd, kw, stride, pl, wo)
        ky0, ky1, kx0, kx1 = taps
        kh, kw, pt, pl = ky1 - ky0, kx1 - kx0, pt - ky0, pl - kx0
        k = kh * kw * cin
        y = np.empty((n * ho * wo, cout), np.float32)
        pointwise = kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd) and pt == pl == 0
        epi = self._epilogue_terms(bias, scale, residual, cout, act)
        # Winograd where the products are the work; where the filter outweighs the pixels,
        # reading it is the work, and its transform is 16/9 of its size
        block = channel_block(n * ho * wo, cout)
        winograd_ok = self.winograd and block == cout and min(cin, cout) >= WINOGRAD_MIN_C
        if winograd_ok and kh == kw == 3 and stride == 1:
            self._winograd(
                x,
                self._derived(w, ("winograd",), winograd.packed_filter),
                pt,
                pl,
                ho,
                wo,
                epi,
                y,
            )
            return y.reshape(n, ho, wo, cout)

        if cin <= FEW_CHANNELS and not pointwise:
            # the filter's rows apart: one packed (KW*C_in, C_out) matrix per row
            rows = self._derived(
                w,
                ("rows",) + taps,
                lambda a: np.stack(
                    [gemm.pack(r.reshape(kw * cin, cout)) for r in a[ky0:ky1, kx0:kx1]]
                ),
            )
            self._conv_few_channels(x, rows, kw, stride, pt, pl, ho, wo, epi, y)
            return y.reshape(n, ho, wo, cout)
        wp = self._derived(
            w, ("matrix",) + taps, lambda a: gemm.pack(a[ky0:ky1, kx0:kx1].reshape(k, cout))
        )

        # tiles of whole output rows (and blocks of channels), as for every conv kernel
        tile, block, threads = tiles(
            n * ho, wo * (k + cout), wo * k * cout, n * ho * wo, cout, numba.get_num_threads()
        )
        scratch = self._scratch(threads, 0 if pointwise else tile * wo * k)
        # thread t of the kernel takes tiles t, t + threads, ...; numba's other threads, if
        # any, get no work and go straight back to waiting
        conv_kernels.conv2d(
            x, wp, kh, kw, stride, pt, pl, ho, wo, tile, block,
            scratch, *epi, y,
        )  # fmt: skip
        return y.reshape(n, ho, wo, cout)

    def _conv_few_channels(self, x, rows, kw, stride, pt, pl, ho, wo, epi, y):
        """A conv of an input with few channels, im2col along x only (``conv2d.py``);
        ``rows`` the filter's rows, packed."""
        kh, kwc = rows.shape[0], kw * x.shape[3]
        cout = y.shape[1]
        # tiles of output rows within an image: the planes (about stride * tile rows
        # expanded rows) and the output tile within the cache budget, as for conv2d
        tile = row_tile(ho, wo * (stride * kwc + cout), TILE_FLOATS)
        threads = min(numba.get_num_threads(), x.shape[0] * -(-ho // tile))
        span = tile + (kh - 1) // stride
        scratch = self._scratch(threads, stride * span * wo * kwc)
        conv_kernels.conv2d_few_channels(
            x, rows, stride, pt, pl, ho, wo, tile, scratch,
            *epi, y,
        )  # fmt: skip

    def _winograd(self, x, u, pt, pl, ho, wo, epi, y):
        """A 3x3 stride-1 conv by F(2x2, 3x3) (``kernels/numba/winograd.py``) into ``y``."""
        n, cin, cout = x.shape[0], x.shape[3], y.shape[1]
        tiles_x, tile_rows = (wo + 1) // 2, n * ((ho + 1) // 2)
        threads = numba.get_num_threads()
        # bands of tile rows whose transformed tiles fit the scratch budget, and at least
        # SPLIT bands when there are the rows for them
        band = row_tile(tile_rows, 16 * max(cin, cout) * tiles_x, WINOGRAD_FLOATS)
        threads = min(threads, -(-tile_rows // band))
        tiles = band * tiles_x
        sv = self._scratch(threads, 16 * tiles * cin, slot=0)
        sm = self._scratch(threads, 16 * tiles * cout, slot=1)
        winograd.conv3x3(x, u, pt, pl, ho, wo, band, sv, sm, *epi, y)

    @launches
    def separable_conv2d(
        self,
        x,
        depthwise_filter,
        pointwise_filter,
        stride=1,
        padding="same",
        *,
        depthwise_bn=None,
        depthwise_act=None,
        input_act=None,
        bias=None,
        scale=None,
        residual=None,
        act=None,
    ):
        """See :meth:`Backend.separable_conv2d`: a 3x3 depthwise conv and the 1x1 conv after
        it as one kernel (``kernels/numba/separable.py``); other filters as two ops."""
        fused = tuple(depthwise_filter.shape[:2]) == (3, 3) and input_act in (None, "relu")
        if not fused:
            return super().separable_conv2d(
                x,
                depthwise_filter,
                pointwise_filter,
                stride,
                padding,
                depthwise_bn=depthwise_bn,
                depthwise_act=depthwise_act,
                input_act=input_act,
                bias=bias,
                scale=scale,
                residual=residual,
                act=act,
            )
        from .geometry import conv_geometry

        x, stride = self._f32(x), int(stride)
        n, h, wd, c = x.shape
        cout = pointwise_filter.shape[3]
        pt, pl, ho, wo = conv_geometry(h, wd, 3, 3, stride, padding)
        mean, inv, offset = (
            (_EMPTY, _EMPTY, _EMPTY)
            if depthwise_bn is None
            else tuple(self._f32(v) for v in depthwise_bn)
        )
        y = np.empty((n * ho * wo, cout), np.float32)
        # tiles as conv2d's: a tile's depthwise rows (its im2col) and output stay in L2;
        # thread t of the kernel takes tiles t, t + threads, ... (others get no work)
        tile, block, threads = tiles(
            n * ho, wo * (c + cout), wo * c * (cout + 9), n * ho * wo, cout, numba.get_num_threads()
        )
        separable.separable3x3(
            x,
            self._f32(depthwise_filter[:, :, :, 0]),
            stride,
            pt,
            pl,
            ho,
            wo,
            mean,
            inv,
            offset,
            epilogue.ACT_CODES[depthwise_act],
            input_act == "relu",
            self._derived(pointwise_filter, ("matrix",), lambda a: gemm.pack(a.reshape(c, cout))),
            tile,
            block,
            self._scratch(threads, tile * wo * c),
            *self._epilogue_terms(bias, scale, residual, cout, act),
            y,
        )
        return y.reshape(n, ho, wo, cout)

    def _epilogue_terms(self, bias, scale, residual, cout, act):
        """(bias, scale_w, scale_b, residual (M, C_out), act code) as the kernels take them:
        float32 arrays, zero-length for an absent term."""
        sw, sb = (_EMPTY, _EMPTY) if scale is None else (self._f32(scale[0]), self._f32(scale[1]))
        return (
            _EMPTY if bias is None else self._f32(bias),
            sw,
            sb,
            _EMPTY2 if residual is None else self._f32(residual).reshape(-1, cout),
            epilogue.ACT_CODES[act],
        )

    @launches
    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        mean, inv, offset = (_EMPTY, _EMPTY, _EMPTY) if bn is None else bn
        kernel = depthwise.depthwise3x3 if w.shape[:2] == (3, 3) else depthwise.depthwise_conv2d
        with threads_for(x.shape[0] * ho * wo * x.shape[3] * w.shape[0] * w.shape[1]):
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

    @launches
    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        if k == 2 and pad_top == pad_left == 0:
            # no window clipped when the last one ends inside the input (always true for max,
            # which the clamped reads of pool2x2 cannot change)
            inside = (ho - 1) * stride + 2 <= x.shape[1] and (wo - 1) * stride + 2 <= x.shape[2]
            if is_max or inside:
                with threads_for(x.size):
                    return pool.pool2x2(x, stride, ho, wo, is_max)
        with threads_for(x.size * k * k // (stride * stride)):
            return pool.pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max)

    @launches
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
    bk.separable_conv2d(
        x, np.ones((3, 3, 2, 1), np.float32), np.ones((1, 1, 2, 2), np.float32), act="relu"
    )
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(np.ones((2, 3, 3), np.uint8), 4, True)
    if numba.threading_layer() == "workqueue":  # known once a parallel kernel has run
        bk._launch_lock = threading.RLock()
    return bk
