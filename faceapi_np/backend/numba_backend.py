"""The numba backend: the same ops as the NumPy reference, as compiled CPU kernels.

Each op binds a kernel in ``faceapi_np.kernels.numba`` (see ``kernels/README.md``), and
each is one parallel kernel. A convolution is cut into tiles (``numba_tiling.py``) that
numba's threads share; each tile is gathered into a per-thread buffer that stays in
cache, multiplied by the filter (``gemm.py``: a register-blocked product against the
filter packed once, kept with the weights), and finished by the fused epilogue (bias,
scale, residual, activation) while it is still in cache. Which kernel a conv gets:

* 3x3 stride 1, >= 64 channels, >= 512 2x2 output tiles, at least as many output pixels
  as filters: Winograd F(2x2, 3x3) (``winograd.py``);
* an input with <= 4 channels (first layers): no im2col, the receptive fields read in a
  padded copy of the input (``conv2d.py``);
* otherwise im2col tiles, or none for a 1x1 conv (``conv2d.py``); with fewer output
  pixels than filters the tiles are blocks of channels;
* a 3x3 depthwise conv and the 1x1 conv after it: one kernel (``separable.py``), and
  two such separable convs with a large map between them one kernel too, run depth
  first, with the few-channel conv before them if a chain has one as its stem
  (``separable_pair.py``; planned in ``numba_separable.py``).

Every kernel is launched through ``_launch`` with its output buffer, so that a net's
forward pass can be recorded once and replayed as its launches alone
(``forward_plan.py``). Kernels are compiled on first use and cached on disk
(``cache=True``). Results equal the NumPy backend's to float32 rounding (tests hold
them to 1e-5 relative).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from . import _blas, _memory, numba_cache, numba_plans
from .base import Backend, KernelBackend, normalize_input
from .forward_plan import PlannedLaunches
from .numba_tiling import (
    FEW_CHANNELS,
    PANEL,
    ROWS_MIN_WIDTH,
    TILE_FLOATS,
    TURNED_MIN_PIXELS,
    channel_block,
    row_tile,
    takes_winograd,
    tiles,
    winograd_band,
)

numba_cache.install()  # before the kernels are defined: where their compiled code is kept
# Importing these imports numba: this module is only imported when the backend is asked for.
import numba  # noqa: E402

from ..kernels.numba import conv2d as conv_kernels  # noqa: E402
from ..kernels.numba import (  # noqa: E402
    depthwise,
    epilogue,
    gemm,
    pool,
    resize,
    small_ops,
    ssd_output,
    winograd,
)
from ..kernels.numba.conv_few_pixels import conv2d_few_pixels  # noqa: E402
from ..kernels.numba.conv_rows import conv2d_rows  # noqa: E402
from .numba_separable import SeparableOps  # noqa: E402
from .numba_threads import current_threads, launches, set_threads, threads_for  # noqa: E402

_EMPTY = np.zeros(0, np.float32)


class NumbaBackend(SeparableOps, PlannedLaunches, KernelBackend):
    """CPU backend running numba kernels (float32, host memory)."""

    name = "numba"

    def __init__(self):
        super().__init__(np)
        # NumPy's BLAS (descriptor matching, a caller's own products) runs on one thread:
        # its threads would spin on the cores the next kernel needs (see _blas)
        _blas.pin_this_thread()
        _memory.keep_freed_memory()  # activations reuse freed pages: no page faults a pass
        self._local = threading.local()  # scratch buffers, one set per calling thread
        # kept beside each filter while it lives: its packed forms, and conv plans
        self._packed = numba_plans.FilterCache()
        self._plans = numba_plans.FilterCache()
        self._launch_lock = None  # set by create() where the threading layer needs one
        self.winograd = os.environ.get("FACEAPI_NP_WINOGRAD", "1") != "0"
        # nets replay their recorded forward passes (forward_plan.py)
        self.plan_forward = os.environ.get("FACEAPI_NP_PLANS", "1") != "0"

    @staticmethod
    def _threads_now() -> int:
        """The kernel thread count now (per calling thread)."""
        return current_threads()

    @staticmethod
    def _set_threads(n: int) -> None:
        """Set the kernel thread count (per calling thread)."""
        set_threads(n)

    @staticmethod
    def _threaded(fn) -> bool:
        """Whether kernel ``fn`` is a parallel one (the small ops' kernels run serially)."""
        return bool(getattr(fn, "targetoptions", {"parallel": True}).get("parallel", False))

    @staticmethod
    def _compiled(fn, args: tuple):
        """A kernel's compiled entry point for these arguments' types, found once: numba's
        dispatcher types every argument again on each call (~0.25 us for a conv's 17
        arrays; the recognition net's 43 launches at batch 1 replay in 1.176-1.182 ms
        against 1.187-1.209). A replay's arguments are the recording's arrays, or views
        of the same layout (``forward_plan``); where none is found, ``fn`` itself."""
        overloads = getattr(fn, "overloads", None)
        if overloads is None:
            return fn
        found = overloads.get(tuple(fn.typeof_pyval(a) for a in args))
        return fn if found is None else found.entry_point

    def plan_key(self) -> tuple:
        """What a recorded forward pass depends on besides the net and the input shape."""
        return current_threads(), self.winograd

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
        input_norm=None,
        max_pool=None,
    ):
        """See :meth:`Backend.conv2d`: tiles of im2col + packed product + fused epilogue,
        planned once per filter and input shape (``numba_plans.py``)."""
        x = self._f32(x)
        key = ("conv", x.shape, int(stride), padding, act, input_norm, max_pool, self.winograd)
        key += (current_threads(),)
        same = (bias,) if scale is None else (bias, scale[0], scale[1])

        def make():
            return self._plan_conv(
                x.shape, w, int(stride), padding, bias, scale, act, input_norm, max_pool, key[-1]
            )

        return self._plans.get(w, key, make, same)(x, residual)

    def _plan_conv(self, shape, w, stride, padding, bias, scale, act, norm, pool, threads):
        """The run(x, residual) of one conv: which kernel, its packed filter and tiles."""
        from .geometry import check_filter, conv_geometry, live_taps

        check_filter(shape, w.shape)
        w32 = self._f32(w)
        n, h, wd, cin = shape
        kh, kw, _, cout = w32.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        # taps that read only padding for every output add zeros: drop them (the
        # recognition net's last 3x3 conv sees a 1x1 map and is a 1x1 conv: 0.43 ->
        # 0.05 ms, no longer reading 8/9 of its filter for nothing)
        taps = live_taps(h, kh, stride, pt, ho) + live_taps(wd, kw, stride, pl, wo)
        ky0, ky1, kx0, kx1 = taps
        kh, kw, pt, pl = ky1 - ky0, kx1 - kx0, pt - ky0, pl - kx0
        k, m = kh * kw * cin, n * ho * wo
        pointwise = kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd) and pt == pl == 0
        # bias, scale_w, scale_b, activation code; the output's shape
        terms = numba_plans.epilogue_terms(self._f32, bias, scale, cout) + (
            epilogue.ACT_CODES[act],
        )
        out_shape = (n, ho, wo, cout)

        def packed(how, make):
            return self._packed.get(w, how + taps, lambda: make(w32[ky0:ky1, kx0:kx1]))

        # Winograd where it saves enough multiplies on long enough products (numba_tiling)
        block = channel_block(m, cout)
        winograd_ok = self.winograd and kh == kw == 3 and stride == 1
        if winograd_ok and takes_winograd(n * -(-ho // 2) * -(-wo // 2), m, cin, cout):
            u = packed(("winograd",), winograd.packed_filter)
            tile_rows = n * ((ho + 1) // 2)
            # bands of tile rows whose transformed tiles fit the scratch budget, at least
            # SPLIT bands when there are the rows for them, a block of products' rows each
            band = winograd_band(tile_rows, (wo + 1) // 2, max(cin, cout))
            threads = min(threads, -(-tile_rows // band))
            tiles_band = 16 * band * ((wo + 1) // 2)
            args = (u, pt, pl, ho, wo, band)
            sizes = (tiles_band * cin, tiles_band * cout)
            return self._runner(
                winograd.conv3x3, args, sizes, threads, terms, out_shape, norm, pool
            )

        if TURNED_MIN_PIXELS <= m <= 16 and block < cout:
            # 13-16 output pixels against many filters: the product turned around, each
            # weight read once (conv2d_few_pixels; see TURNED_MIN_PIXELS for fewer)
            wt = packed(("turned",), lambda a: np.ascontiguousarray(a.reshape(k, cout).T))
            # one run of filters a thread, cut into blocks of 12 rows once (in blocks of 64
            # filters, channel_block's, each ended in a block of 12 rows a third empty);
            # each filter's sums are the same whichever run it is in
            block = -(-cout // threads)
            threads = -(-cout // block)
            args = (wt, kh, kw, stride, pt, pl, ho, wo, block)
            kernel, sizes = conv2d_few_pixels, (PANEL * (k + block),)
            return self._runner(kernel, args, sizes, threads, terms, out_shape, norm, pool)

        if stride == 1 and kh > 1 and min(cin, wo) >= ROWS_MIN_WIDTH and block == cout:
            # one product per filter row over padded input rows, no im2col (conv_rows.py)
            def by_rows(a):
                return np.stack([gemm.pack(r.reshape(kw * cin, cout)) for r in a])

            wps, wpad = packed(("rows",), by_rows), wo + kw - 1
            tile = row_tile(ho, wo * cout + wpad * cin, TILE_FLOATS)
            threads = min(threads, n * -(-ho // tile))
            sizes = ((tile + kh - 1) * wpad * cin,)
            args = (wps, pt, pl, ho, wo, tile)
            return self._runner(conv2d_rows, args, sizes, threads, terms, out_shape, norm, pool)

        if cin <= FEW_CHANNELS and not pointwise:
            # no im2col: each tile's input rows copied once with their padding, the
            # product reading each receptive field where it lies (taps' offsets: koff)
            wp = packed(("matrix",), lambda a: gemm.pack(a.reshape(k, cout)))
            wpad = (wo - 1) * stride + kw
            koff = numba_plans.tap_offsets(kh, kw, cin, wpad)
            # a 2x2 max pool after it is done as the rows are stored: tiles of row pairs
            pooled = pool == 2
            unit = 2 if pooled else 1
            per_unit = unit * (wo * cout + stride * wpad * cin)
            tile = unit * row_tile(-(-ho // unit), per_unit, TILE_FLOATS)
            threads = min(threads, n * -(-ho // tile))
            size = ((tile - 1) * stride + kh) * wpad * cin
            if pooled:
                out_shape, pool = numba_plans.pooled_shape(out_shape), None
            # the copy applies the normalisation: its three steps along a whole input row
            # (no rows: none)
            steps = numba_plans.norm_rows(norm, wd, cin)
            args = (wp, koff, steps, kh, stride, pt, pl, ho, wo, tile, pooled)
            sizes = (size, 2 * wo * cout if pooled else 0)
            return self._runner(
                conv_kernels.conv2d_few_channels, args, sizes, threads, terms, out_shape, None, pool
            )

        wp = packed(("matrix",), lambda a: gemm.pack(a.reshape(k, cout)))
        # tiles of whole output rows (and blocks of channels), as for every conv kernel;
        # thread t of the kernel takes tiles t, t + threads, ...
        tile, block, threads = tiles(n * ho, wo * (k + cout), wo * k * cout, m, cout, threads)
        size = 0 if pointwise else tile * wo * k
        args = (wp, kh, kw, stride, pt, pl, ho, wo, tile, block)
        return self._runner(
            conv_kernels.conv2d, args, (size,), threads, terms, out_shape, norm, pool
        )

    def _runner(self, kernel, args, sizes, threads, terms, shape, norm=None, pool=None):
        """run(x, residual): ``kernel(x, *args, *scratch, *terms, residual rows, y)``, with
        one scratch buffer of ``sizes[i]`` floats a thread for each size, ``terms`` =
        (bias, scale_w, scale_b, act code) and ``y`` (N*Ho*Wo, C_out) reshaped to
        ``shape``; ``x`` normalised first by ``norm`` and ``y`` max-pooled after by
        ``pool`` (for a kernel that does not do it)."""
        *epi, code = terms
        cout = shape[3]
        m = shape[0] * shape[1] * shape[2]

        def run(x, residual):
            if norm is not None:
                x = self._f32(normalize_input(x, norm, np))
            y = np.empty((m, cout), np.float32)
            scratch = [self._scratch(threads, size, slot) for slot, size in enumerate(sizes)]
            rows = numba_plans.residual_rows(self._f32, residual, cout)
            self._launch(kernel, (x, *args, *scratch, *epi, rows, code, y), (x, residual), y)
            return self._pooled(y.reshape(shape), pool)

        return run

    @launches
    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        mean, inv, offset = (_EMPTY, _EMPTY, _EMPTY) if bn is None else bn
        kernel = depthwise.depthwise3x3 if w.shape[:2] == (3, 3) else depthwise.depthwise_conv2d
        out = np.empty((x.shape[0], ho, wo, x.shape[3]), np.float32)
        code = epilogue.ACT_CODES[act]
        args = (x, w, stride, pad_top, pad_left, ho, wo, mean, inv, offset, code, relu_input, out)
        with threads_for(x.shape[0] * ho * wo * x.shape[3] * w.shape[0] * w.shape[1]):
            return self._launch(kernel, args, (x,), out)

    @launches
    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        out = np.empty((x.shape[0], ho, wo, x.shape[3]), np.float32)
        if k == 2 and pad_top == pad_left == 0:
            # no window clipped when the last one ends inside the input (always true for max,
            # which the clamped reads of pool2x2 cannot change)
            inside = (ho - 1) * stride + 2 <= x.shape[1] and (wo - 1) * stride + 2 <= x.shape[2]
            if is_max or inside:
                with threads_for(x.size):
                    return self._launch(pool.pool2x2, (x, stride, ho, wo, is_max, out), (x,), out)
        args = (x, k, stride, pad_top, pad_left, ho, wo, is_max, out)
        with threads_for(x.size * k * k // (stride * stride)):
            return self._launch(pool.pool2d, args, (x,), out)

    @launches
    def _resize(self, image, size, side, off_y, off_x):
        return resize.resize_to_square(image, size, side, off_y, off_x)

    # the small ops between the convs, as serial kernels (small_ops.py): NumPy calls,
    # cold after a conv, cost 10-50x their warm time inside a forward pass
    @launches
    def dense(self, x, weights, bias=None):
        """See :meth:`Backend.dense`: the product by ``gemm.py``, against the weights
        packed once."""
        x = self._f32(x)
        if x.ndim != 2 or np.ndim(weights) != 2 or x.shape[1] != weights.shape[0]:
            return super().dense(x, weights, bias)  # NumPy's error, which says what is wrong
        wp = self._packed.get(weights, ("dense",), lambda: gemm.pack(self._f32(weights)))
        b = _EMPTY if bias is None else self._f32(bias)
        out = np.empty((x.shape[0], weights.shape[1]), np.float32)
        return self._launch(small_ops.dense, (x, wp, b, out), (x,), out)

    @launches
    def spatial_mean(self, x):
        """See :meth:`Backend.spatial_mean`."""
        x = self._f32(x)
        out = np.empty((x.shape[0], x.shape[3]), np.float32)
        return self._launch(small_ops.spatial_mean, (x, out), (x,), out)

    @launches
    def pad(self, x, pads):
        """See :meth:`Backend.pad`."""
        x = self._f32(x)
        if x.ndim != 4:
            return super().pad(x, pads)
        shape = tuple(d + before + after for d, (before, after) in zip(x.shape, pads))
        out = np.empty(shape, np.float32)
        before = tuple(int(b) for b, _ in pads)
        return self._launch(small_ops.pad, (x, before, out), (x,), out)

    @launches
    def add(self, a, b, act=None):
        """See :meth:`Backend.add`; arrays of different shapes are broadcast by NumPy."""
        if act not in (None, "relu") or np.shape(a) != np.shape(b):
            return super().add(a, b, act)  # which says what is wrong, or broadcasts
        a, b = self._f32(a), self._f32(b)
        out = np.empty(a.shape, np.float32)
        return self._launch(small_ops.add, (a, b, act == "relu", out), (a, b), out)

    @launches
    def ssd_output(self, heads, anchors, center_scale, size_scale):
        """See :meth:`Backend.ssd_output`: one serial kernel (``ssd_output.py``) reading
        each head's output where its conv left it."""
        anchors = self._f32(anchors)
        n = np.shape(heads[0])[0] if len(heads) == 12 else 0
        flat = [self._f32(h).reshape(n, -1) for h in heads] if n else []
        per_head = [b.shape[1] // 4 for b in flat[0::2]]  # anchors, by the encodings
        if per_head != [c.shape[1] // 3 for c in flat[1::2]] or sum(per_head) != len(anchors):
            return super().ssd_output(heads, anchors, center_scale, size_scale)  # its error
        split = n * len(anchors) * 4  # the boxes, then the scores (the kernel's layout)
        out = np.empty(split + n * len(anchors), np.float32)
        scales = np.float32(center_scale), np.float32(size_scale)
        args = (*flat, anchors, *scales, self._threads_now(), out)
        self._launch(ssd_output.ssd_output, args, tuple(flat), out)
        return out[:split].reshape(n, -1, 4), out[split:].reshape(n, -1)


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
