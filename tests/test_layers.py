"""The layer library against slow, obviously correct references, on every backend.

Each layer in ``faceapi_np/layers.py`` is run on seeded random inputs of odd shapes
(1x1 images, 7x9, channels 3, 5 and 13, batch 2; stride 1 and 2; TF 'same', 'valid' and
integer padding) and compared with a reference written here as plain loops in float64.
The references find their own padding from TF's definition of 'SAME' (output
``ceil(size / stride)``, the odd pixel of padding after) and skip cells outside the image
instead of padding, so they share no code with the backends. Geometry helpers and
``net.count_macs`` get hand-computed cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from naive import conv2d_naive, depthwise_conv2d_naive

from faceapi_np import layers
from faceapi_np.backend.geometry import output_size, same_pads, window_pads
from faceapi_np.net import Tap, count_macs
from faceapi_np.params import ConvParams, FCParams, SeparableConvParams

RTOL = 1e-5  # float32 results against float64 references
ATOL = 1e-5


# `bk` (every registered backend) comes from conftest.py.


def _run(backend, fn, /, *arrays, **kw):
    """``fn`` on ``backend`` copies of ``arrays`` (keywords passed as they are), as NumPy."""
    return backend.to_numpy(fn(*(backend.asarray(a) for a in arrays), **kw))


# --- references ----------------------------------------------------------------------


def ref_pads(size: int, k: int, stride: int, padding) -> tuple[int, int]:
    """(before, after) padding along one axis, from TF's documented definition."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2  # odd pixel after
    return int(padding), int(padding)


def _windows(h, w, kh, kw, stride, padding):
    """Output size and, per output cell, the input rows/cols its window covers (may be < 0)."""
    pt, pb = ref_pads(h, kh, stride, padding)
    pl, pr = ref_pads(w, kw, stride, padding)
    ho = (h + pt + pb - kh) // stride + 1
    wo = (w + pl + pr - kw) // stride + 1
    return ho, wo, pt, pl


def ref_conv2d(x, w, stride, padding):
    """Convolution by definition: sum over taps inside the image (outside ones are 0)."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    ho, wo, pt, pl = _windows(h, wd, kh, kw, stride, padding)
    out = np.zeros((n, ho, wo, cout))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for a in range(kh):
                    for c in range(kw):
                        y, xx = i * stride + a - pt, j * stride + c - pl
                        if 0 <= y < h and 0 <= xx < wd:
                            out[b, i, j] += x[b, y, xx] @ w[a, c]  # (C_in,) @ (C_in, C_out)
    return out


def ref_depthwise(x, w, stride, padding):
    """Depthwise convolution by definition, channel multiplier 1."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, h, wd, ch = x.shape
    kh, kw = w.shape[:2]
    ho, wo, pt, pl = _windows(h, wd, kh, kw, stride, padding)
    out = np.zeros((n, ho, wo, ch))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for a in range(kh):
                    for c in range(kw):
                        y, xx = i * stride + a - pt, j * stride + c - pl
                        if 0 <= y < h and 0 <= xx < wd:
                            out[b, i, j] += x[b, y, xx] * w[a, c, :, 0]
    return out


def ref_pool(x, k, stride, padding, op):
    """Max or mean over the real cells of each ``k x k`` window (TF semantics)."""
    x = x.astype(np.float64)
    n, h, wd, ch = x.shape
    ho, wo, pt, pl = _windows(h, wd, k, k, stride, padding)
    out = np.zeros((n, ho, wo, ch))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                cells = [
                    x[b, y, xx]
                    for y in range(i * stride - pt, i * stride - pt + k)
                    for xx in range(j * stride - pl, j * stride - pl + k)
                    if 0 <= y < h and 0 <= xx < wd
                ]
                out[b, i, j] = op(np.stack(cells), axis=0)
    return out


def _conv_inputs(seed, x_shape, w_shape):
    """Seeded input in [-1, 1) and filters scaled by 1/sqrt(fan-in), so outputs are O(1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    fan_in = w_shape[0] * w_shape[1] * (w_shape[2] if w_shape[3] != 1 else 1)
    w = (rng.standard_normal(w_shape) / np.sqrt(fan_in)).astype(np.float32)
    b = rng.standard_normal(w_shape[3]).astype(np.float32)
    return x, w, b


# --- convolutions --------------------------------------------------------------------

# (input shape, filter shape, stride, padding)
CONV_CASES = [
    ((1, 1, 1, 3), (1, 1, 3, 5), 1, "same"),  # 1x1 image
    ((2, 7, 9, 3), (1, 1, 3, 5), 1, "valid"),  # 1x1 conv, matmul fast path
    ((2, 7, 9, 5), (1, 1, 5, 13), 1, "same"),
    ((2, 7, 9, 5), (1, 1, 5, 13), 2, "same"),  # 1x1 stride 2
    ((2, 8, 6, 3), (1, 1, 3, 4), 2, "valid"),
    ((1, 5, 4, 3), (1, 1, 3, 4), 1, 1),  # 1x1 with a zero border: output 7x6
    ((2, 7, 9, 3), (3, 3, 3, 5), 1, "same"),
    ((2, 7, 9, 3), (3, 3, 3, 5), 2, "same"),
    ((1, 8, 8, 5), (3, 3, 5, 4), 2, "same"),  # even size, stride 2: pads (0, 1)
    ((2, 9, 7, 13), (3, 3, 13, 3), 1, "valid"),
    ((2, 9, 7, 3), (3, 3, 3, 5), 2, "valid"),
    ((1, 9, 8, 3), (3, 3, 3, 5), 1, 1),
    ((1, 6, 7, 3), (3, 3, 3, 2), 2, 2),
    ((1, 17, 15, 3), (7, 7, 3, 5), 2, "valid"),  # the recognition net's first conv
    ((1, 2, 3, 3), (7, 7, 3, 4), 1, "same"),  # kernel larger than the input
    ((1, 2, 3, 3), (7, 7, 3, 4), 2, "same"),
    ((1, 1, 1, 5), (3, 3, 5, 3), 2, "same"),
    ((1, 5, 4, 3), (2, 2, 3, 4), 1, "same"),  # even kernel: pad (0, 1)
]


def _expected_shape(x_shape, kh, kw, cout, stride, padding):
    n, h, w, _ = x_shape
    if padding == "same":
        return (n, math.ceil(h / stride), math.ceil(w / stride), cout)
    p = 0 if padding == "valid" else padding
    return (n, (h + 2 * p - kh) // stride + 1, (w + 2 * p - kw) // stride + 1, cout)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_conv2d_matches_reference(bk, x_shape, w_shape, stride, padding, with_bias):
    x, w, b = _conv_inputs(sum(x_shape) + sum(w_shape) + stride, x_shape, w_shape)
    want = ref_conv2d(x, w, stride, padding) + (b if with_bias else 0)
    got = bk.to_numpy(
        layers.conv2d(
            bk.asarray(x),
            bk.asarray(w),
            bk.asarray(b) if with_bias else None,
            bk,
            stride,
            padding,
        )
    )
    assert got.shape == _expected_shape(x_shape, *w_shape[:2], w_shape[3], stride, padding)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_conv2d_naive_matches_reference(x_shape, w_shape, stride, padding):
    """The package's own loop definition agrees with ours, so tests may use either."""
    x, w, _ = _conv_inputs(sum(x_shape) + sum(w_shape) + stride, x_shape, w_shape)
    np.testing.assert_allclose(
        conv2d_naive(x, w, stride, padding),
        ref_conv2d(x, w, stride, padding),
        rtol=RTOL,
        atol=ATOL,
    )


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_backend_conv2d_matches_naive(bk, x_shape, w_shape, stride, padding):
    x, w, _ = _conv_inputs(sum(x_shape) + sum(w_shape) + stride + 1, x_shape, w_shape)
    got = _run(bk, bk.conv2d, x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(got, conv2d_naive(x, w, stride, padding), rtol=RTOL, atol=ATOL)


def test_conv2d_same_pads_odd_pixel_after(bk):
    """Size 8, 3x3, stride 2: no padding before, one row/column after (TF, not PyTorch)."""
    x = np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1)
    w = np.ones((3, 3, 1, 1), np.float32)
    got = bk.to_numpy(layers.conv2d(bk.asarray(x), bk.asarray(w), None, bk, 2, "same"))[0, :, :, 0]
    assert got.shape == (4, 4)
    assert got[0, 0] == 81  # rows 0..2, cols 0..2: 0+1+2 + 8+9+10 + 16+17+18
    assert got[3, 3] == 54 + 55 + 62 + 63  # rows 6..7, cols 6..7, the rest is padding: 234
    # 7x7 'same' stride 1 on a 2x2 input: pads (3, 3), every output sums the whole image
    x2 = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2, 1)
    w2 = np.ones((7, 7, 1, 1), np.float32)
    got2 = bk.to_numpy(layers.conv2d(bk.asarray(x2), bk.asarray(w2), None, bk, 1, "same"))
    np.testing.assert_array_equal(got2[0, :, :, 0], [[10, 10], [10, 10]])


def test_conv2d_bias_is_per_output_channel(bk):
    x = np.zeros((2, 3, 5, 4), np.float32)
    w = np.ones((3, 3, 4, 3), np.float32)
    b = np.array([1.5, -2.0, 0.25], np.float32)
    got = bk.to_numpy(layers.conv2d(bk.asarray(x), bk.asarray(w), bk.asarray(b), bk, 1, "same"))
    np.testing.assert_array_equal(got, np.broadcast_to(b, (2, 3, 5, 3)))


# (input shape, depthwise filter shape, stride, padding)
DEPTHWISE_CASES = [
    ((1, 1, 1, 3), (3, 3, 3, 1), 1, "same"),
    ((1, 1, 1, 5), (3, 3, 5, 1), 2, "same"),
    ((2, 7, 9, 3), (3, 3, 3, 1), 1, "same"),
    ((2, 7, 9, 5), (3, 3, 5, 1), 2, "same"),
    ((2, 8, 8, 13), (3, 3, 13, 1), 2, "same"),  # pads (0, 1)
    ((2, 9, 7, 13), (3, 3, 13, 1), 1, "valid"),
    ((1, 9, 7, 5), (3, 3, 5, 1), 2, "valid"),
    ((1, 6, 5, 3), (3, 3, 3, 1), 1, 1),
    ((1, 6, 5, 3), (3, 3, 3, 1), 2, 2),
    ((1, 2, 3, 5), (5, 5, 5, 1), 2, "same"),  # kernel larger than the input
    ((2, 5, 4, 3), (2, 2, 3, 1), 1, "same"),
    ((2, 7, 9, 3), (1, 1, 3, 1), 2, "same"),
    ((2, 9, 11, 19), (3, 3, 19, 1), 1, "same"),  # wide channels: the vectorised 3x3 kernel
    ((1, 10, 9, 35), (3, 3, 35, 1), 2, "same"),
    ((1, 9, 10, 17), (3, 3, 17, 1), 2, 1),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", DEPTHWISE_CASES)
def test_depthwise_conv2d_matches_reference(bk, x_shape, w_shape, stride, padding):
    x, w, _ = _conv_inputs(sum(x_shape) + sum(w_shape) + stride, x_shape, w_shape)
    want = ref_depthwise(x, w, stride, padding)
    got = _run(bk, layers.depthwise_conv2d, x, w, bk=bk, stride=stride, padding=padding)
    assert got.shape == _expected_shape(x_shape, *w_shape[:2], x_shape[3], stride, padding)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        depthwise_conv2d_naive(x, w, stride, padding), want, rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize(
    "x_shape,cin,cout,stride,padding",
    [
        ((1, 1, 1, 3), 3, 5, 1, "same"),
        ((2, 7, 9, 3), 3, 5, 1, "same"),
        ((2, 7, 9, 5), 5, 13, 2, "same"),
        ((2, 8, 8, 13), 13, 3, 2, "same"),
        ((1, 9, 7, 5), 5, 4, 1, "valid"),
        ((1, 9, 7, 5), 5, 4, 2, 1),
    ],
)
def test_separable_conv2d_is_depthwise_then_pointwise(bk, x_shape, cin, cout, stride, padding):
    rng = np.random.default_rng(cin * 100 + cout + stride)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    dw = (rng.standard_normal((3, 3, cin, 1)) / 3).astype(np.float32)
    pw = (rng.standard_normal((1, 1, cin, cout)) / np.sqrt(cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    mid = ref_depthwise(x, dw, stride, padding)
    want = np.einsum("nhwc,co->nhwo", mid, pw[0, 0].astype(np.float64)) + b
    got = _run(bk, layers.separable_conv2d, x, dw, pw, b, bk=bk, stride=stride, padding=padding)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# --- normalisation and affine --------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1, 1, 3), (2, 7, 9, 5), (2, 3, 4, 13)])
def test_batch_norm_matches_formula(bk, shape):
    rng = np.random.default_rng(shape[-1])
    c = shape[-1]
    x = rng.standard_normal(shape).astype(np.float32) * 3
    mean = rng.standard_normal(c).astype(np.float32)
    var = rng.uniform(0.01, 4, c).astype(np.float32)
    var[0] = 0.0  # eps alone keeps the division finite
    offset = rng.standard_normal(c).astype(np.float32)
    scale = rng.standard_normal(c).astype(np.float32)
    eps = 0.0010000000474974513  # face-api.js's float32(1e-3)
    f64 = [a.astype(np.float64) for a in (x, mean, var, offset, scale)]
    want = (f64[0] - f64[1]) * f64[4] / np.sqrt(f64[2] + eps) + f64[3]
    got = bk.to_numpy(
        layers.batch_norm(*(bk.asarray(a) for a in (x, mean, var, offset, scale)), eps=eps, bk=bk)
    )
    assert got.dtype == np.float32
    # var = 0 makes |(x - mean) * scale / sqrt(eps)| reach ~600: cancelling that against
    # offset leaves float32 rounding of ~1e-4 in absolute terms
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_batch_norm_hand_case(bk):
    x = np.array([3.0, 1.0], np.float32).reshape(1, 1, 1, 2)
    mean = np.array([1.0, 1.0], np.float32)
    var = np.array([4.0 - 1e-3, 1.0 - 1e-3], np.float32)
    offset = np.array([0.5, -1.0], np.float32)
    scale = np.array([2.0, 5.0], np.float32)
    got = bk.to_numpy(
        layers.batch_norm(*(bk.asarray(a) for a in (x, mean, var, offset, scale)), eps=1e-3, bk=bk)
    )
    # (3 - 1) * 2 / sqrt(4) + 0.5 = 2.5; (1 - 1) * 5 / 1 - 1 = -1
    np.testing.assert_allclose(got.ravel(), [2.5, -1.0], rtol=1e-6)


def test_scale_bias(bk):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 7, 9, 5)).astype(np.float32)
    w = rng.standard_normal(5).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    got = _run(bk, layers.scale_bias, x, w, b)
    want = x.astype(np.float64) * w.astype(np.float64) + b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_normalize_gives_face_api_js_float32_bits(bk):
    """``rgb_norm``: ``(x - mean) / d``; ``scale_norm``: ``x * s - o``; each step one
    float32 op, as face-api.js's tf ops compute them (the nets' inputs, bit for bit)."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, 256, (2, 3, 5, 3)).astype(np.float32)
    mean_rgb = [122.782, 117.001, 104.298]  # the recognition net's channel means
    got = bk.to_numpy(layers.normalize(bk.asarray(x), layers.rgb_norm(mean_rgb, 256), bk))
    assert got.dtype == np.float32
    want = (x - np.asarray(mean_rgb, np.float32)) / np.float32(256)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, (x.astype(np.float64) - mean_rgb) / 256, rtol=RTOL, atol=ATOL)
    s = 0.007843137718737125
    got = bk.to_numpy(layers.normalize(bk.asarray(x), layers.scale_norm(s, 1), bk))
    np.testing.assert_array_equal(got, x * np.float32(s) - np.float32(1))
    one = bk.to_numpy(
        layers.normalize(
            bk.asarray(np.full((1, 1, 1, 3), 255, np.float32)),
            layers.rgb_norm([255, 0, 127.5], 2),
            bk,
        )
    )
    np.testing.assert_allclose(one.ravel(), [0.0, 127.5, 63.75], rtol=1e-7)
    with pytest.raises(ValueError, match="3 values a step"):
        layers.normalize(bk.asarray(x), ((1.0,), (0.0,), (1.0,)), bk)


# --- activations ---------------------------------------------------------------------


def test_relu(bk):
    x = np.array([-5.0, -1e-7, 0.0, 1e-7, 0.5, 7.0], np.float32)
    np.testing.assert_array_equal(
        _run(bk, layers.relu, x, bk=bk), [0, 0, 0, np.float32(1e-7), 0.5, 7.0]
    )


def test_relu6(bk):
    x = np.array([-3.0, -0.0, 0.0, 0.5, 3.0, 5.999, 6.0, 6.001, 100.0], np.float32)
    want = np.array([0, 0, 0, 0.5, 3.0, 5.999, 6.0, 6.0, 6.0], np.float32)
    np.testing.assert_array_equal(_run(bk, layers.relu6, x, bk=bk), want)
    rng = np.random.default_rng(9)
    y = (rng.standard_normal((2, 7, 9, 5)) * 8).astype(np.float32)
    np.testing.assert_array_equal(_run(bk, layers.relu6, y, bk=bk), np.minimum(np.maximum(y, 0), 6))


def test_leaky_relu(bk):
    rng = np.random.default_rng(10)
    x = (rng.standard_normal((2, 7, 9, 13)) * 10).astype(np.float32)
    x.flat[:4] = [0.0, -1e-30, 1e30, -1e30]
    got = _run(bk, layers.leaky_relu, x, bk=bk)
    a = layers.LEAKY_ALPHA
    assert a == float(np.float32(0.1))
    # mathematically max(x, a x), up to float32 rounding of face-api.js's form
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(got, np.maximum(x64, a * x64), rtol=1e-6, atol=0)
    # and bit for bit face-api.js's own form relu(x - a x) + a x, in float32
    ax = x * np.float32(a)
    np.testing.assert_array_equal(got, np.maximum(x - ax, np.float32(0)) + ax)
    np.testing.assert_allclose(
        _run(bk, layers.leaky_relu, np.array([-10.0, 10.0], np.float32), bk=bk),
        [-1.0, 10.0],
        rtol=1e-6,
    )


def test_prelu_per_channel_alpha(bk):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 7, 9, 5)).astype(np.float32)
    alpha = np.array([0.0, 0.25, 0.5, 1.0, -0.3], np.float32)
    got = _run(bk, layers.prelu, x, alpha, bk=bk)
    x64 = x.astype(np.float64)
    want = np.where(x64 > 0, x64, alpha.astype(np.float64) * x64)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-7)
    hand = _run(
        bk,
        layers.prelu,
        np.array([[-2.0, -2.0], [3.0, 3.0]], np.float32),
        np.array([0.5, 0.1], np.float32),
        bk=bk,
    )
    np.testing.assert_allclose(hand, [[-1.0, -0.2], [3.0, 3.0]], rtol=1e-6)


def test_sigmoid(bk):
    x = np.linspace(-20, 20, 161, dtype=np.float32)
    got = _run(bk, layers.sigmoid, x, bk=bk)
    want = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got[80] == 0.5  # x = 0


@pytest.mark.parametrize("shape,axis", [((4, 7), -1), ((1, 1), -1), ((2, 3, 5), 1), ((6, 3), 0)])
def test_softmax(bk, shape, axis):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    got = _run(bk, layers.softmax, x, bk=bk, axis=axis)
    e = np.exp(x.astype(np.float64))
    np.testing.assert_allclose(got, e / e.sum(axis=axis, keepdims=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-6)
    # invariant to adding a constant, which must not overflow exp either
    shifted = _run(bk, layers.softmax, x + np.float32(1000), bk=bk, axis=axis)
    np.testing.assert_allclose(shifted, got, rtol=1e-4, atol=1e-6)
    assert np.isfinite(shifted).all()


def test_softmax_hand_case(bk):
    got = _run(
        bk,
        layers.softmax,
        np.array([[0.0, 0.0], [0.0, math.log(3.0)]], np.float32),
        bk=bk,
    )
    np.testing.assert_allclose(got, [[0.5, 0.5], [0.25, 0.75]], rtol=1e-6)


# --- pooling and dense ---------------------------------------------------------------

# (input shape, k, stride, padding)
MAX_POOL_CASES = [
    ((1, 1, 1, 3), 2, 2, "same"),
    ((2, 7, 9, 3), 2, 2, "same"),  # odd sizes: last row/column half padding
    ((2, 8, 6, 5), 2, 2, "same"),
    ((2, 7, 9, 13), 2, 1, "same"),  # Tiny Face Detector's last pool
    ((1, 1, 1, 5), 2, 1, "same"),
    ((2, 9, 7, 3), 3, 2, "valid"),  # recognition net
    ((2, 7, 9, 3), 3, 2, "same"),
    ((1, 8, 6, 3), 2, 2, "valid"),
    ((1, 9, 11, 19), 2, 2, "same"),  # wide channels: the vectorised 2x2 kernels
    ((2, 8, 10, 32), 2, 1, "same"),
]


@pytest.mark.parametrize("x_shape,k,stride,padding", MAX_POOL_CASES)
@pytest.mark.parametrize("sign", ["mixed", "negative"])
def test_max_pool_matches_reference(bk, x_shape, k, stride, padding, sign):
    rng = np.random.default_rng(sum(x_shape) + k + stride)
    x = rng.standard_normal(x_shape).astype(np.float32)
    if sign == "negative":
        x = -np.abs(x) - 1  # a padded cell counted as 0 would win everywhere it appears
    got = _run(bk, layers.max_pool, x, k, stride, bk=bk, padding=padding)
    want = ref_pool(x, k, stride, padding, np.max)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want.astype(np.float32))


def test_max_pool_hand_case(bk):
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    got = _run(bk, layers.max_pool, x, 2, 2, bk=bk, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(got, [[5, 6], [8, 9]])
    got = _run(bk, layers.max_pool, -x, 2, 2, bk=bk, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(got, [[-1, -3], [-7, -9]])
    got = _run(bk, layers.max_pool, -x, 2, 1, bk=bk, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(got, [[-1, -2, -3], [-4, -5, -6], [-7, -8, -9]])


AVG_POOL_CASES = [
    ((2, 8, 6, 3), 2, 2, "valid"),
    ((2, 7, 9, 5), 2, 2, "valid"),  # odd sizes: last row/column dropped
    ((2, 7, 9, 3), 2, 2, "same"),  # odd sizes: divisor counts real cells only
    ((1, 7, 9, 13), 3, 2, "same"),
    ((2, 7, 9, 3), 3, 1, "same"),
    ((2, 8, 6, 3), 2, 2, "same"),  # no padding needed
    ((1, 1, 1, 3), 3, 1, "same"),
    ((1, 9, 7, 5), 3, 2, "valid"),
    ((2, 9, 11, 21), 2, 2, "valid"),  # wide channels, odd sizes: the 2x2 fast path
    ((1, 9, 11, 21), 2, 2, "same"),  # clipped windows: the general kernel
]


@pytest.mark.parametrize("x_shape,k,stride,padding", AVG_POOL_CASES)
def test_avg_pool_matches_reference(bk, x_shape, k, stride, padding):
    rng = np.random.default_rng(sum(x_shape) + 10 * k + stride)
    x = rng.standard_normal(x_shape).astype(np.float32) + 3  # a wrong divisor shows at once
    got = _run(bk, layers.avg_pool, x, k, stride, bk=bk, padding=padding)
    want = ref_pool(x, k, stride, padding, np.mean)
    assert got.shape == want.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_avg_pool_hand_case(bk):
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    got = _run(bk, layers.avg_pool, x, 2, 2, bk=bk, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(
        got, [[3.0, 4.5], [7.5, 9.0]]
    )  # (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1
    got = _run(bk, layers.avg_pool, x, 2, 2, bk=bk, padding="valid")[0, :, :, 0]
    np.testing.assert_array_equal(got, [[3.0]])


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_fully_connected(bk, with_bias):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 13)).astype(np.float32)
    w = (rng.standard_normal((13, 5)) / np.sqrt(13)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    got = bk.to_numpy(
        layers.fully_connected(
            bk.asarray(x), bk.asarray(w), bk.asarray(b) if with_bias else None, bk
        )
    )
    want = x.astype(np.float64) @ w.astype(np.float64) + (b.astype(np.float64) if with_bias else 0)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# --- geometry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size,k,stride,pads",
    [
        (8, 3, 2, (0, 1)),  # the odd pixel goes after
        (7, 3, 2, (1, 1)),
        (8, 3, 1, (1, 1)),
        (1, 3, 1, (1, 1)),
        (1, 3, 2, (1, 1)),
        (1, 7, 2, (3, 3)),
        (2, 7, 2, (2, 3)),
        (2, 7, 1, (3, 3)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
        (7, 2, 1, (0, 1)),
        (9, 1, 2, (0, 0)),
        (416, 3, 1, (1, 1)),
        (300, 3, 2, (0, 1)),  # SSD's first conv: 300 -> 150
        (150, 3, 2, (0, 1)),  # 150 -> 75
        (75, 3, 2, (1, 1)),  # 75 -> 38
    ],
)
def test_same_pads_hand_cases(size, k, stride, pads):
    assert same_pads(size, k, stride) == pads
    assert ref_pads(size, k, stride, "same") == pads
    assert output_size(size, k, stride, *pads) == math.ceil(size / stride)


def test_window_pads_hand_cases():
    assert window_pads(8, 7, 3, 3, 2, "same") == ((0, 1), (1, 1))
    assert window_pads(7, 9, 2, 2, 1, "same") == ((0, 1), (0, 1))
    assert window_pads(8, 7, 3, 5, 1, "same") == ((1, 1), (2, 2))
    assert window_pads(8, 7, 3, 3, 2, "valid") == ((0, 0), (0, 0))
    assert window_pads(8, 7, 3, 3, 1, 2) == ((2, 2), (2, 2))
    assert window_pads(8, 7, 3, 3, 1, 0) == ((0, 0), (0, 0))


@pytest.mark.parametrize(
    "size,k,stride,before,after,out",
    [
        (150, 7, 2, 0, 0, 72),  # recognition net: 150 -> 72 ...
        (72, 3, 2, 0, 0, 35),  # ... then a 3x3/2 'valid' max pool -> 35
        (9, 3, 2, 0, 0, 4),
        (8, 3, 2, 0, 1, 4),
        (7, 3, 1, 1, 1, 7),
        (5, 3, 1, 2, 2, 7),
        (1, 1, 1, 0, 0, 1),
        (3, 3, 1, 0, 0, 1),
    ],
)
def test_output_size_hand_cases(size, k, stride, before, after, out):
    assert output_size(size, k, stride, before, after) == out


# --- multiply-add counts -------------------------------------------------------------


@dataclass
class _DepthwiseOnly:
    """A depthwise layer whose filter is called ``filters`` and flagged by the class."""

    filters: np.ndarray
    depthwise = True  # class attribute, not a field


@dataclass
class _Block:
    """A block of two sub-layers, as the nets nest them."""

    first: ConvParams
    second: ConvParams


def test_count_macs_hand_cases():
    conv = ConvParams(np.zeros((3, 3, 3, 8), np.float32), np.zeros(8, np.float32))
    # 2 images x 5 x 4 positions x 8 outputs x 3*3*3 taps
    assert count_macs(conv, (2, 5, 4, 8)) == 2 * 5 * 4 * 8 * 27 == 8640
    sep = SeparableConvParams(
        np.zeros((3, 3, 5, 1), np.float32),
        np.zeros((1, 1, 5, 7), np.float32),
        np.zeros(7, np.float32),
    )
    # depthwise: 4*6 positions x 5 channels x 9 taps = 1080; pointwise: 24 x 7 x 5 = 840
    assert count_macs(sep, (1, 4, 6, 7)) == 1080 + 840 == 1920
    fc = FCParams(np.zeros((128, 10), np.float32), np.zeros(10, np.float32))
    assert count_macs(fc, (3, 10)) == 3 * 128 * 10 == 3840
    dw = _DepthwiseOnly(np.zeros((3, 3, 13, 1), np.float32))
    assert count_macs(dw, (2, 7, 9, 13)) == 2 * 63 * 13 * 9 == 14742
    block = _Block(conv, ConvParams(np.zeros((1, 1, 8, 8), np.float32), np.zeros(8, np.float32)))
    assert count_macs(block, (1, 5, 4, 8)) == 20 * 8 * 27 + 20 * 8 * 8 == 5600
    assert count_macs(None, (1, 5, 4, 8)) == 0


def test_tap_records_rows_and_outputs():
    conv = ConvParams(np.zeros((3, 3, 3, 8), np.float32), np.zeros(8, np.float32))
    out = np.ones((2, 5, 4, 8), np.float32)
    tap = Tap(rows=True, capture=True)
    assert tap("conv_0", "conv 3x3", out, conv) is out
    assert tap("relu", "relu", out) is out
    first, second = tap.rows
    assert (first.name, first.op, first.shape, first.params, first.macs) == (
        "conv_0",
        "conv 3x3",
        (2, 5, 4, 8),
        3 * 3 * 3 * 8 + 8,
        8640,
    )
    assert (second.params, second.macs) == (0, 0)
    assert list(tap.outputs) == ["conv_0", "relu"]
    np.testing.assert_array_equal(tap.outputs["conv_0"], out)
