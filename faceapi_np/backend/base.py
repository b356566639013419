"""The :class:`Backend` interface every backend implements.

A backend provides the array namespace ``xp`` and the hot layer ops, each with a fused
epilogue so that a fast backend reads and writes an activation once:

* ``conv2d``: convolution, then ``+ bias``, ``* scale_w + scale_b``, ``+ residual``, activation;
  a net's first conv may also take the input normalisation (``input_norm``, see
  :func:`normalize_input`), which a backend may apply as it reads the pixels;
* ``depthwise_conv2d``: depthwise convolution, then batch norm ``(y - mean) * inv + offset``, activation;
* ``separable_conv2d``: a depthwise conv then a 1x1 conv, each with its own fused terms
  (by default the two ops above, which a backend may fuse into one kernel);
* ``max_pool``, ``avg_pool``;
* ``resize_to_square``: face-api.js's pad-to-square and bilinear resize of one image;
* ``dense``, ``spatial_mean``, ``pad``, ``add``, ``ssd_output`` (SSD's box decoding): the
  small ops between and after the convs, NumPy here.

Activations are named: ``None``, ``"relu"``, ``"relu6"``, ``"leaky"`` (face-api.js's
``relu(x - 0.1x) + 0.1x``). The NumPy backend (``numpy_backend.py``) is the reference
every other backend is tested against.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..activations import ACT_CODES, LEAKY_ALPHA, activate  # noqa: F401  (kernels read them here)
from ..errors import InputError


def normalize_input(x, norm, xp):
    """``(x * scale - offset) / divisor`` per channel: a net's input normalisation.

    ``norm`` is ``(scale, offset, divisor)``, three tuples of one float per channel of
    ``x`` (N, H, W, C); ``None`` returns ``x``. The three steps are three float32 ops in
    this order, each skipped where it is the identity (which leaves the bits as they
    are), so that one form covers face-api.js's ``(x - mean) / 256`` and ``x * s - 1``,
    and a kernel applying the same steps as it reads the pixels gives the same bits.
    """
    if norm is None:
        return x
    n, h, w, c = x.shape
    if any(len(step) != c for step in norm):
        raise ValueError(f"input_norm needs {c} values a step, one per channel: {norm}")
    flat = x.reshape(n, h, w * c)  # one long row per image row: no 3-wide inner loops
    scale, offset, divisor = (xp.tile(xp.asarray(v, dtype=xp.float32), w) for v in norm)
    if any(v != 1.0 for v in norm[0]):
        flat = flat * scale
    if any(v != 0.0 for v in norm[1]):
        flat = flat - offset
    if any(v != 1.0 for v in norm[2]):
        flat = flat / divisor
    return flat.reshape(n, h, w, c)


class SeparableConv(NamedTuple):
    """One separable conv of :meth:`Backend.separable_chain`: the arguments of
    :meth:`Backend.separable_conv2d` but its input (a chain has no residual or pool)."""

    depthwise_filter: Any
    pointwise_filter: Any
    stride: int = 1
    padding: Any = "same"
    depthwise_bn: Any = None
    depthwise_act: str | None = None
    input_act: str | None = None
    bias: Any = None
    scale: Any = None
    act: str | None = None


class Conv(NamedTuple):
    """The stem of :meth:`Backend.separable_chain`: the arguments of
    :meth:`Backend.conv2d` but its input (no residual or pool)."""

    w: Any
    stride: int = 1
    padding: Any = "same"
    bias: Any = None
    scale: Any = None
    act: str | None = None
    input_norm: Any = None


class Backend:
    """A compute backend: an array namespace plus the hot ops.

    Attributes
    ----------
    name : str
        Registry name (``"numpy"``, ``"numba"``, ``"cupy"``).
    xp : module
        Array namespace used by the layers (``numpy`` or ``cupy``).
    """

    name: str = "base"

    def __init__(self, xp):
        self.xp = xp

    def asarray(self, a):
        """Move a host array onto this backend (no copy when already there)."""
        return self.xp.asarray(a)

    def to_numpy(self, a):
        """Bring an array back to the host as a NumPy array."""
        return self.xp.asnumpy(a) if hasattr(self.xp, "asnumpy") else a

    def synchronize(self) -> None:
        """Wait until the work queued so far is done (a no-op where ops run eagerly).

        Timings call this before reading the clock, so a GPU backend's asynchronous
        launches are counted.
        """

    def conv2d(
        self,
        x,
        w,
        stride: int = 1,
        padding="same",
        bias=None,
        scale=None,
        residual=None,
        act=None,
        input_norm=None,
        max_pool=None,
    ):
        """Convolution with a fused epilogue, TF semantics.

        ``y = act((conv(x, w) + bias) * scale[0] + scale[1] + residual)``, each term optional.

        Parameters
        ----------
        x : array (N, H, W, C_in)
        w : array (KH, KW, C_in, C_out)
        stride : int
        padding : ``"same"``, ``"valid"`` or an int of zero padding on every side
        bias : array (C_out,) or None
        scale : (weights, biases) pair of (C_out,) arrays or None
        residual : array (N, H', W', C_out) or None
        act : None | "relu" | "relu6" | "leaky"
        input_norm : (scale, offset, divisor) or None
            Normalisation of ``x`` before the conv and its zero padding
            (:func:`normalize_input`), for a net's first layer: a kernel that copies its
            input anyway applies it on the way instead of in a pass of its own.
        max_pool : int or None
            ``k``: the result max-pooled over k x k windows at stride k, 'same' padding
            (:meth:`max_pool`; Tiny Face Detector pools after its convs), which a backend
            may do as it stores the result instead of in a pass of its own.

        Returns
        -------
        array (N, H', W', C_out), or the pooled (N, ceil(H'/k), ceil(W'/k), C_out)
        """
        raise NotImplementedError

    def depthwise_conv2d(
        self, x, w, stride: int = 1, padding="same", bn=None, act=None, input_act=None
    ):
        """Depthwise convolution (channel multiplier 1) with a fused prologue and epilogue.

        ``y = act((dwconv(input_act(x), w) - mean) * inv + offset)`` when ``bn = (mean, inv,
        offset)``; ``input_act`` (the ReLU a residual block applies to its input) may be
        applied as each value is read. x (N, H, W, C), w (KH, KW, C, 1); returns (N, H', W', C).
        """
        raise NotImplementedError

    def separable_conv2d(
        self,
        x,
        depthwise_filter,
        pointwise_filter,
        stride: int = 1,
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
        """A depthwise conv then a 1x1 conv, each with its fused terms (TF ``separableConv2d``).

        ``y = conv2d(depthwise_conv2d(x, depthwise_filter, stride, padding, bn=depthwise_bn,
        act=depthwise_act, input_act=input_act), pointwise_filter, 1, "valid", bias=bias,
        scale=scale, residual=residual, act=act)``, which is what this does; a backend may
        override it with one kernel that never stores the depthwise output, giving the
        same numbers to float32 rounding.

        Parameters
        ----------
        x : array (N, H, W, C)
        depthwise_filter : array (KH, KW, C, 1)
        pointwise_filter : array (1, 1, C, C_out)
        depthwise_bn, depthwise_act, input_act : as ``bn``, ``act``, ``input_act`` of
            :meth:`depthwise_conv2d`
        bias, scale, residual, act, max_pool : as :meth:`conv2d`'s, for the 1x1 conv

        Returns
        -------
        array (N, H', W', C_out)
        """
        terms = dict(bn=depthwise_bn, act=depthwise_act, input_act=input_act)
        y = self.depthwise_conv2d(x, depthwise_filter, stride, padding, **terms)
        y = self.conv2d(
            y, pointwise_filter, 1, "valid", bias=bias, scale=scale, residual=residual, act=act
        )
        return self._pooled(y, max_pool)

    def separable_chain(self, x, convs, stem=None):
        """Separable convs one after another, each one's output the next one's input.

        ``convs`` is a sequence of :class:`SeparableConv`, ``stem`` a :class:`Conv` run
        first, or None; the result is what calling :meth:`conv2d` with the stem and
        :meth:`separable_conv2d` with each conv in turn gives, which is what this does. A
        backend may run consecutive ones depth first, keeping the maps between them in
        cache (the numba backend's ``kernels/numba/separable_pair.py``), with the same
        numbers to float32 rounding.
        """
        if stem is not None:
            x = self.conv2d(x, **stem._asdict())
        for conv in convs:
            x = self.separable_conv2d(x, **conv._asdict())
        return x

    def max_pool(self, x, k: int, stride: int, padding="same"):
        """``k x k`` max pooling; padded cells never win (TF ``maxPool``)."""
        raise NotImplementedError

    def _pooled(self, y, max_pool):
        """``y`` max-pooled as a conv's ``max_pool=k`` asks (k x k / k 'same'; None: ``y``)."""
        return y if max_pool is None else self.max_pool(y, max_pool, max_pool, "same")

    def avg_pool(self, x, k: int, stride: int, padding="valid"):
        """``k x k`` average pooling; with 'same', padded cells are not counted (TF ``avgPool``)."""
        raise NotImplementedError

    def dense(self, x, weights, bias=None):
        """Dense layer ``x @ weights (+ bias)`` on (N, D_in) rows (TF ``matMul``, ``add``)."""
        y = x @ weights
        return y if bias is None else y + bias

    def spatial_mean(self, x):
        """Mean over the spatial axes, (N, H, W, C) -> (N, C) (TF ``mean(x, [1, 2])``)."""
        return x.mean(axis=(1, 2))

    def pad(self, x, pads):
        """``x`` with zeros around it: ``pads`` is (before, after) for each axis."""
        return self.xp.pad(x, pads)

    def add(self, a, b, act=None):
        """``a + b``, then ``act`` (None or ``"relu"``) (TF ``add``, ``relu``)."""
        if act not in (None, "relu"):
            raise InputError(f"add: act must be None or 'relu', not {act!r}")
        y = a + b
        return y if act is None else self.xp.maximum(y, 0)

    def ssd_output(self, heads, anchors, center_scale, size_scale):
        """SSD's output layer: (boxes (N, A, 4), scores (N, A)) from its 12 heads' outputs
        and the (A, 4) anchors (:func:`faceapi_np.ops.ssd_output`)."""
        from ..ops import ssd_output  # (ops imports this package)

        return ssd_output(heads, anchors, center_scale, size_scale, self.xp)

    def resize_to_square(self, image, size: int, center: bool = False):
        """One image (H, W, 3) padded to a square and resized to (size, size, 3), float32.

        face-api.js ``padToSquare`` then tfjs 1.7 ``resizeBilinear``; see
        :func:`faceapi_np.ops.pad_to_square` and :func:`faceapi_np.ops.resize_bilinear`.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"


class KernelBackend(Backend):
    """A backend whose ops are compiled kernels: shared shape logic, kernel hooks per backend.

    The public ops work out padding, output sizes and square placement (with
    :mod:`faceapi_np.backend.geometry`) and then call the hooks below, which subclasses
    bind to their kernels. A conv is im2col + a matrix product + the fused epilogue; a
    1x1 stride-1 conv skips the im2col.
    """

    def _f32(self, a):
        """``a`` as a C-contiguous float32 array of this backend."""
        return self.xp.ascontiguousarray(self.xp.asarray(a, dtype=self.xp.float32))

    def _im2col(self, x, kh, kw, stride, pad_top, pad_left, ho, wo):
        raise NotImplementedError

    def _epilogue(self, y, bias, scale, residual, act):
        """In place on ``y`` (M, C_out); absent terms are None."""
        raise NotImplementedError

    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        """x (N, H, W, C), w (KH, KW, C); bn None or (mean, inv, offset); ReLU on reads if ``relu_input``."""
        raise NotImplementedError

    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        raise NotImplementedError

    def _resize(self, image, size, side, off_y, off_x):
        """(size, size, 3) float32 from image (H, W, 3) uint8/float32 placed in a zero square."""
        raise NotImplementedError

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
        from .geometry import check_filter, conv_geometry

        check_filter(x.shape, w.shape)
        x = normalize_input(x, input_norm, self.xp)
        x, w, stride = self._f32(x), self._f32(w), int(stride)
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        if kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd):
            cols = x.reshape(-1, cin)
        else:
            cols = self._im2col(x, kh, kw, stride, pt, pl, ho, wo)
        y = cols @ w.reshape(kh * kw * cin, cout)  # the BLAS / cuBLAS GEMM
        self._epilogue(
            y,
            None if bias is None else self._f32(bias),
            None if scale is None else (self._f32(scale[0]), self._f32(scale[1])),
            None if residual is None else self._f32(residual).reshape(-1, cout),
            act,
        )
        y = y.reshape(n, ho, wo, cout)
        return self._pooled(y, max_pool)

    def depthwise_conv2d(self, x, w, stride=1, padding="same", bn=None, act=None, input_act=None):
        """See :meth:`Backend.depthwise_conv2d`."""
        from .geometry import check_filter, conv_geometry

        # the kernels index the filter by the input's channels: a narrower one would be
        # read past its end
        check_filter(x.shape, w.shape, "depthwise_conv2d")
        if input_act not in (None, "relu"):  # only a ReLU is fused into the reads
            x, input_act = activate(x, input_act, self.xp), None

        x, stride = self._f32(x), int(stride)
        n, h, wd, c = x.shape
        kh, kw = w.shape[:2]
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        bn = None if bn is None else tuple(self._f32(v) for v in bn)
        return self._depthwise(
            x,
            self._f32(w[:, :, :, 0]),
            stride,
            pt,
            pl,
            ho,
            wo,
            bn,
            act,
            input_act == "relu",
        )

    def _pool_op(self, x, k, stride, padding, is_max):
        from .geometry import conv_geometry

        x, k, stride = self._f32(x), int(k), int(stride)
        pt, pl, ho, wo = conv_geometry(x.shape[1], x.shape[2], k, k, stride, padding)
        return self._pool(x, k, stride, pt, pl, ho, wo, is_max)

    def max_pool(self, x, k, stride, padding="same"):
        """See :meth:`Backend.max_pool`."""
        return self._pool_op(x, k, stride, padding, True)

    def avg_pool(self, x, k, stride, padding="valid"):
        """See :meth:`Backend.avg_pool`."""
        return self._pool_op(x, k, stride, padding, False)

    def resize_to_square(self, image, size, center=False):
        """See :meth:`Backend.resize_to_square`."""
        from .geometry import square_placement

        xp = self.xp
        img = xp.asarray(image)
        if img.dtype not in (xp.uint8, xp.float32):
            img = img.astype(xp.float32)
        side, off_y, off_x = square_placement(*img.shape[:2], center)
        return self._resize(xp.ascontiguousarray(img), size, side, off_y, off_x)
