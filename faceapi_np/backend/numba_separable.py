"""The numba backend's separable convs: one at a time, and consecutive ones depth first.

A separable conv whose depthwise filter is 3x3 is one kernel (``kernels/numba/
separable.py``: the depthwise rows of a tile multiplied by the 1x1 filter while in
cache); two consecutive ones whose map between them is large run as one kernel too
(``separable_pair.py``: the first one's output made a few rows at a time, just before
the second reads them). Both are planned once per filter and input shape
(``numba_plans.py``) and launched through ``_launch``, so that a recorded forward pass
replays them (``forward_plan.py``). A mixin of :class:`~.numba_backend.NumbaBackend`.
"""

from __future__ import annotations

import numpy as np

from . import numba_cache, numba_plans
from .numba_tiling import (
    DEPTH_FIRST_VECTOR,
    FEW_CHANNELS,
    PANEL,
    channel_block,
    takes_depth_first,
    tiles,
)

numba_cache.install()  # before the kernels are defined: where their compiled code is kept
from ..kernels.numba import epilogue, gemm, separable  # noqa: E402
from ..kernels.numba.separable_pair import (  # noqa: E402
    scratch_floats,
    separable_pair,
    stem_floats,
)
from .numba_threads import current_threads, launches  # noqa: E402

_EMPTY = np.zeros(0, np.float32)


class SeparableOps:
    """``separable_conv2d`` and ``separable_chain`` of the numba backend."""

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
        max_pool=None,
    ):
        """See :meth:`Backend.separable_conv2d`: a 3x3 depthwise conv and the 1x1 conv after
        it as one kernel (``kernels/numba/separable.py``), planned once per filter and
        input shape, a 2x2 max pool after it done as the tiles are stored; other filters
        as two ops."""
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
                max_pool=max_pool,
            )
        x = self._f32(x)
        key = ("separable", x.shape, int(stride), padding, depthwise_act, input_act, act)
        key += (max_pool, current_threads())
        same = (depthwise_filter, bias) + tuple(depthwise_bn or ()) + tuple(scale or ())

        def make():
            return self._plan_separable(
                x.shape, depthwise_filter, pointwise_filter, int(stride), padding,
                depthwise_bn, depthwise_act, input_act, bias, scale, act, max_pool, key[-1],
            )  # fmt: skip

        return self._plans.get(pointwise_filter, key, make, same)(x, residual)

    def _plan_separable(
        self, shape, dw, pw, stride, padding, bn, dact, input_act, bias, scale, act, pool, threads
    ):
        """The run(x, residual) of one fused separable conv."""
        from .geometry import check_filter, conv_geometry

        check_filter(shape, dw.shape, "separable_conv2d")
        check_filter(shape, pw.shape, "separable_conv2d")

        n, h, wd, c = shape
        cout = pw.shape[3]
        pt, pl, ho, wo = conv_geometry(h, wd, 3, 3, stride, padding)
        dw3, bn, pwp = self._filters(dw, pw, bn)
        head = (dw3, stride, pt, pl, ho, wo, *bn, epilogue.ACT_CODES[dact], input_act == "relu")
        terms = numba_plans.epilogue_terms(self._f32, bias, scale, cout) + (
            epilogue.ACT_CODES[act],
        )
        # tiles as conv2d's: a tile's depthwise rows (its im2col) and output stay in L2;
        # thread t of the kernel takes tiles t, t + threads, ... (others get no work). A
        # 2x2 max pool after it is done as the tiles are stored: tiles of pooled rows,
        # each two output rows
        pooled = pool == 2 and channel_block(n * ho * wo, cout) == cout  # (see separable3x3)
        unit = 2 if pooled else 1
        tile, block, threads = tiles(
            n * -(-ho // unit),
            unit * wo * (c + cout),
            unit * wo * c * (cout + 9),
            n * ho * wo,
            cout,
            threads,
        )
        args = (*head, pwp, tile, block, pooled)
        sizes = (unit * tile * wo * c, 2 * wo * cout if pooled else 0)
        shape = (n, ho, wo, cout)
        if pooled:
            shape, pool = numba_plans.pooled_shape(shape), None
        return self._runner(separable.separable3x3, args, sizes, threads, terms, shape, None, pool)

    def _filters(self, dw, pw, bn):
        """A separable conv's 3x3 depthwise filter as (3, 3, C), its batch norm as three
        float32 arrays (zero-length if none) and its 1x1 filter packed for the product
        (``gemm.pack``, kept with the filter)."""
        bn = (_EMPTY, _EMPTY, _EMPTY) if bn is None else tuple(self._f32(v) for v in bn)
        c, cout = pw.shape[2], pw.shape[3]
        packed = self._packed.get(
            pw, ("matrix",), lambda: gemm.pack(self._f32(pw).reshape(c, cout))
        )
        return self._f32(dw[:, :, :, 0]), bn, packed

    def separable_chain(self, x, convs, stem=None):
        """See :meth:`Backend.separable_chain`: two consecutive convs whose map between
        them is large (``numba_tiling.takes_depth_first``) as one depth-first kernel
        (``kernels/numba/separable_pair.py``), the stem before them too when it is a
        conv of few input channels (:meth:`_stem_fits`); the others one at a time."""
        convs, i = list(convs), 0
        if stem is not None:
            x = self._f32(x)
            if len(convs) > 1 and self._stem_fits(x.shape, stem, convs[0], convs[1]):
                x = self._separable_pair(x, convs[0], convs[1], stem)
                i = 2
            else:
                x = self.conv2d(x, **stem._asdict())
        while i < len(convs):
            if i + 1 < len(convs) and self._pairs(x.shape, convs[i], convs[i + 1]):
                x = self._separable_pair(x, convs[i], convs[i + 1])
                i += 2
            else:
                x = self.separable_conv2d(x, **convs[i]._asdict())
                i += 1
        return x

    def _stem_fits(self, shape, stem, first, second) -> bool:
        """Whether ``separable_pair`` takes ``stem`` before the pair ``first``, ``second``:
        a conv of few input channels (as ``conv2d`` runs it by ``conv2d_few_channels``,
        every tap reading the input), whole blocks of output channels, no scale layer, no
        input activation on the first conv, and the pair taken on the stem's output."""
        from .geometry import check_filter, conv_geometry, live_taps

        check_filter(shape, stem.w.shape, "separable_chain")
        n, h, wd, cin = shape
        kh, kw, _, c1 = stem.w.shape
        stride = int(stem.stride)
        pointwise = kh == kw == 1 and stride == 1
        if (
            cin > FEW_CHANNELS
            or c1 % DEPTH_FIRST_VECTOR
            or stem.scale is not None
            or first.input_act
        ):
            return False
        if pointwise:  # conv2d runs those as a product of the pixels as they lie
            return False
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, stem.padding)
        live = live_taps(h, kh, stride, pt, ho) + live_taps(wd, kw, stride, pl, wo)
        return live == (0, kh, 0, kw) and self._pairs((n, ho, wo, c1), first, second)

    @staticmethod
    def _pairs(shape, first, second) -> bool:
        """Whether ``separable_pair`` takes the convs ``first``, ``second`` on an input of
        ``shape``: 3x3 depthwise filters, 'same' padding, the first of stride 1, no input
        activation on the second, and a map between them worth keeping in cache."""
        from .geometry import check_filter

        check_filter(shape, first.depthwise_filter.shape, "separable_chain")
        check_filter(shape, first.pointwise_filter.shape, "separable_chain")
        n, h, w, _ = shape
        mid = first.pointwise_filter.shape[3]
        three = all(tuple(c.depthwise_filter.shape[:2]) == (3, 3) for c in (first, second))
        plain = first.stride == 1 and second.stride in (1, 2) and second.input_act is None
        plain = plain and first.input_act in (None, "relu") and first.scale is None
        same = first.padding == second.padding == "same"
        return three and plain and same and takes_depth_first(n * h * w * mid, mid)

    @launches
    def _separable_pair(self, x, first, second, stem=None):
        """``separable_chain`` of the two convs (taken by :meth:`_pairs`), and of the
        stem before them if one is given (taken by :meth:`_stem_fits`), as one kernel,
        planned once per filters and input shape."""
        x = self._f32(x)
        key = ("pair", x.shape, int(second.stride), first.depthwise_act, first.input_act)
        key += (first.act, second.depthwise_act, second.act)
        same = (first.depthwise_filter, first.bias, *tuple(first.depthwise_bn or ()))
        same += (second.depthwise_filter, second.pointwise_filter, second.bias)
        same += tuple(second.depthwise_bn or ()) + tuple(second.scale or ())
        if stem is not None:
            key += ("stem", int(stem.stride), stem.padding, stem.act, stem.input_norm)
            same += (stem.w, stem.bias)
        key += (current_threads(),)

        def make():
            return self._plan_pair(x.shape, first, second, key[-1], stem)

        return self._plans.get(first.pointwise_filter, key, make, same)(x, None)

    def _stem_args(self, shape, stem):
        """``separable_pair``'s stem arguments (none: empty arrays), the stem's output
        shape and the floats of its input rows a thread keeps (``stem_floats``; 0 for
        none): its packed filter and taps' offsets as ``conv2d`` makes them for
        ``conv2d_few_channels`` (the same packed filter), its input normalisation's rows,
        its geometry, bias and activation code."""
        from .geometry import conv_geometry

        n, h, wd, cin = shape
        if stem is None:
            none = (np.zeros((0, 0, PANEL), np.float32), np.zeros(0, np.int64))
            none += (np.zeros((0, 0), np.float32), 1, 1, 0, 0, h, wd, _EMPTY, 0)
            return none, shape, 0
        w32 = self._f32(stem.w)
        kh, kw, _, c1 = w32.shape
        stride = int(stem.stride)
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, stem.padding)
        wp = self._packed.get(
            stem.w, ("matrix", 0, kh, 0, kw), lambda: gemm.pack(w32.reshape(kh * kw * cin, c1))
        )
        wpad = (wo - 1) * stride + kw  # a padded input row (conv2d_few_channels's)
        koff = numba_plans.tap_offsets(kh, kw, cin, wpad)
        norm = numba_plans.norm_rows(stem.input_norm, wd, cin)
        bias = numba_plans.epilogue_terms(self._f32, stem.bias, None, c1)[0]
        args = (wp, koff, norm, kh, stride, pt, pl, ho, wo, bias)
        args += (epilogue.ACT_CODES[stem.act],)
        return args, (n, ho, wo, c1), stem_floats(kh, wpad, cin)

    def _plan_pair(self, shape, first, second, threads, stem=None):
        """The run(x, residual) of :meth:`_separable_pair`."""
        from .geometry import check_filter, conv_geometry

        stem_args, shape, rows0 = self._stem_args(shape, stem)
        n, h, wd, c = shape
        mid = first.pointwise_filter.shape[3]
        check_filter((n, h, wd, mid), second.depthwise_filter.shape, "separable_chain")
        check_filter((n, h, wd, mid), second.pointwise_filter.shape, "separable_chain")
        cout = second.pointwise_filter.shape[3]
        pt1, pl1, _, _ = conv_geometry(h, wd, 3, 3, 1, "same")
        stride = int(second.stride)
        pt2, pl2, ho, wo = conv_geometry(h, wd, 3, 3, stride, "same")

        dw1, bn1, pw1 = self._filters(
            first.depthwise_filter, first.pointwise_filter, first.depthwise_bn
        )
        dw2, bn2, pw2 = self._filters(
            second.depthwise_filter, second.pointwise_filter, second.depthwise_bn
        )
        bias1 = numba_plans.epilogue_terms(self._f32, first.bias, None, mid)[0]
        codes = epilogue.ACT_CODES
        head = (*stem_args, dw1, pt1, pl1, *bn1, codes[first.depthwise_act])
        head += (first.input_act == "relu",)
        head += (pw1, bias1, codes[first.act], dw2, stride, pt2, pl2, ho, wo, *bn2)
        head += (codes[second.depthwise_act], pw2)
        terms = numba_plans.epilogue_terms(self._f32, second.bias, second.scale, cout)
        terms += (codes[second.act],)
        # one run of output rows a thread: rows are made twice only where runs meet
        threads = min(threads, n * ho)
        sizes = (scratch_floats(wd, c, mid, wo, pl2, stride, rows0),)
        return self._runner(separable_pair, head, sizes, threads, terms, (n, ho, wo, cout))
