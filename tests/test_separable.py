"""The separable conv op: every backend against the NumPy composition of its two ops.

``Backend.separable_conv2d`` is a depthwise conv then a 1x1 conv; the numba backend runs
a 3x3 one as a single kernel (``kernels/numba/separable.py``). The reference here is the
NumPy backend's ``depthwise_conv2d`` followed by its ``conv2d``, on seeded odd shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceapi_np.backend import Backend, get_backend

CASES = [  # x shape, C_out, stride, padding
    ((2, 9, 11, 19), 23, 1, "same"),
    ((1, 10, 9, 35), 16, 2, "same"),  # even height, stride 2: pads (0, 1)
    ((1, 9, 10, 17), 8, 2, 1),
    ((2, 8, 7, 16), 32, 1, "valid"),
    ((3, 7, 5, 8), 12, 2, "valid"),
    ((1, 3, 4, 16), 80, 1, "same"),  # more filters than pixels: blocks of channels
    ((1, 101, 99, 128), 16, 1, "same"),  # several tiles per thread (see below)
]

TERMS = [  # depthwise bn + act, input ReLU, 1x1 conv terms
    dict(),
    dict(depthwise_bn=True, depthwise_act="relu6", bias=True, act="relu6"),  # MobileNet
    dict(bias=True, act="leaky"),  # Tiny Face Detector
    dict(input_act="relu", bias=True, residual=True),  # dense blocks
    dict(depthwise_act="leaky", bias=True, scale=True, residual=True, act="relu"),
    dict(depthwise_bn=True, input_act="relu", act="leaky"),
]


def _arguments(rng, x_shape, cout, shape_out, terms):
    """Seeded arrays for the terms named in ``terms`` (True -> an array)."""
    c = x_shape[3]
    kw = dict(terms)
    if kw.get("depthwise_bn"):
        bn = [rng.standard_normal(c).astype(np.float32) for _ in range(3)]
        bn[1] = np.abs(bn[1]) + np.float32(0.5)  # inv = scale / sqrt(var + eps) > 0 mostly
        kw["depthwise_bn"] = tuple(bn)
    if kw.get("bias"):
        kw["bias"] = rng.standard_normal(cout).astype(np.float32)
    if kw.get("scale"):
        kw["scale"] = tuple(rng.standard_normal(cout).astype(np.float32) for _ in range(2))
    if kw.get("residual"):
        kw["residual"] = rng.standard_normal(shape_out).astype(np.float32)
    return kw


def _inputs(x_shape, cout, stride, padding, terms):
    rng = np.random.default_rng(sum(x_shape) + cout + stride)
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(np.float32)
    dw = rng.standard_normal((3, 3, c, 1)).astype(np.float32)
    pw = (rng.standard_normal((1, 1, c, cout)) / np.sqrt(c)).astype(np.float32)
    ref = get_backend("numpy")
    shape_out = ref.depthwise_conv2d(x, dw, stride, padding).shape[:3] + (cout,)
    return x, dw, pw, _arguments(rng, x_shape, cout, shape_out, terms)


def _reference(x, dw, pw, stride, padding, kw):
    """The NumPy backend's depthwise conv then its 1x1 conv, written out."""
    ref = get_backend("numpy")
    y = ref.depthwise_conv2d(
        x,
        dw,
        stride,
        padding,
        bn=kw.get("depthwise_bn"),
        act=kw.get("depthwise_act"),
        input_act=kw.get("input_act"),
    )
    terms = {k: kw.get(k) for k in ("bias", "scale", "residual", "act")}
    return ref.conv2d(y, pw, 1, "valid", **terms)


def _on(bk, kw):
    """The arrays of ``kw`` moved onto ``bk`` (tuples element by element)."""
    return {
        k: tuple(bk.asarray(a) for a in v)
        if isinstance(v, tuple)
        else v
        if isinstance(v, str)
        else bk.asarray(v)
        for k, v in kw.items()
    }


@pytest.mark.parametrize("x_shape,cout,stride,padding", CASES)
@pytest.mark.parametrize("terms", TERMS, ids=lambda t: "+".join(t) or "none")
def test_separable_conv2d_matches_the_numpy_composition(bk, x_shape, cout, stride, padding, terms):
    x, dw, pw, kw = _inputs(x_shape, cout, stride, padding, terms)
    want = _reference(x, dw, pw, stride, padding, kw)
    got = bk.separable_conv2d(
        bk.asarray(x), bk.asarray(dw), bk.asarray(pw), stride, padding, **_on(bk, kw)
    )
    assert got.shape == want.shape
    np.testing.assert_allclose(bk.to_numpy(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape,cout,stride,padding", CASES[:3])
def test_numba_fused_equals_its_two_ops(x_shape, cout, stride, padding):
    """The fused kernel computes the unfused path's sums in the same order.

    Compared at a tolerance, not bit for bit: BLAS may take another route for a product
    of a different number of rows.
    """
    pytest.importorskip("numba")
    nb = get_backend("numba")
    terms = dict(depthwise_bn=True, depthwise_act="relu6", input_act="relu", bias=True, act="leaky")
    x, dw, pw, kw = _inputs(x_shape, cout, stride, padding, terms)
    two_ops = Backend.separable_conv2d(nb, x, dw, pw, stride, padding, **kw)
    fused = nb.separable_conv2d(x, dw, pw, stride, padding, **kw)
    np.testing.assert_allclose(fused, two_ops, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "why,dw_shape,input_act",
    [
        ("5x5 filter", (5, 5), None),
        ("leaky input", (3, 3), "leaky"),
    ],
)
def test_numba_falls_back_to_two_ops(why, dw_shape, input_act):
    """What the fused kernel does not cover runs as the base class's two ops, still right."""
    pytest.importorskip("numba")
    from faceapi_np.backend.numba_backend import NumbaBackend

    nb = NumbaBackend()
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 9, 8, 12)).astype(np.float32)
    dw = rng.standard_normal(dw_shape + (12, 1)).astype(np.float32)
    pw = rng.standard_normal((1, 1, 12, 10)).astype(np.float32)
    bias = rng.standard_normal(10).astype(np.float32)
    kw = dict(input_act=input_act, bias=bias, act="relu")
    want = _reference(x, dw, pw, 2, "same", kw)
    got = nb.separable_conv2d(x, dw, pw, 2, "same", **kw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_base_composition_calls_the_two_ops():
    """The default implementation is the backend's depthwise conv, then its 1x1 conv."""
    calls = []

    class Recording(Backend):
        def depthwise_conv2d(
            self, x, w, stride=1, padding="same", bn=None, act=None, input_act=None
        ):
            calls.append(("depthwise", x.shape, w.shape, stride, padding, bn, act, input_act))
            return x[:, ::stride, ::stride] * 2

        def conv2d(
            self, x, w, stride=1, padding="same", bias=None, scale=None, residual=None, act=None
        ):
            calls.append(("conv", x.shape, w.shape, stride, padding, bias, scale, residual, act))
            return x[..., :1] + 1

    x = np.ones((1, 4, 4, 3), np.float32)
    dw, pw = np.ones((3, 3, 3, 1), np.float32), np.ones((1, 1, 3, 1), np.float32)
    out = Recording(np).separable_conv2d(
        x, dw, pw, 2, "same", depthwise_bn="bn", depthwise_act="relu6", input_act="relu",
        bias="b", scale="s", residual="r", act="leaky",
    )  # fmt: skip
    assert calls == [
        ("depthwise", (1, 4, 4, 3), (3, 3, 3, 1), 2, "same", "bn", "relu6", "relu"),
        ("conv", (1, 2, 2, 3), (1, 1, 3, 1), 1, "valid", "b", "s", "r", "leaky"),
    ]
    np.testing.assert_array_equal(out, np.full((1, 2, 2, 1), 3, np.float32))


def test_numba_separable_from_several_threads_at_once():
    """Callers overlapping on the fused kernel each get their own scratch buffers."""
    pytest.importorskip("numba")
    from concurrent.futures import ThreadPoolExecutor

    nb = get_backend("numba")
    x, dw, pw, kw = _inputs((2, 64, 61, 16), 32, 1, "same", dict(bias=True, act="relu"))
    want = _reference(x, dw, pw, 1, "same", kw)
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(lambda _: nb.separable_conv2d(x, dw, pw, 1, "same", **kw), range(6))
        )
    for got in results:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_ssd_tapped_and_untapped_passes_agree(weights_dir):
    """MobileNet's pairs run fused, or as two named layers under a tap: the same outputs."""
    import faceapi_np as fa
    from faceapi_np.tap import Tap, recording

    net = fa.SsdMobilenetv1().load(weights_dir)
    x = np.random.default_rng(2).uniform(0, 255, (1, 512, 512, 3)).astype(np.float32)
    for name in ("numpy", "numba"):
        try:
            bk = get_backend(name)
        except Exception as exc:  # noqa: BLE001  (a backend that cannot run here)
            pytest.skip(f"{name}: {exc}")
        plain = net.forward(x, bk)
        tap = Tap(rows=True)
        with recording(tap):
            tapped = net.forward(x, bk)
        assert any(r.name.endswith("conv_13/depthwise_conv") for r in tap.rows)
        for a, b in zip(plain, tapped):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())


def test_numba_several_tiles_per_thread():
    """The last case above on two threads: each thread takes several tiles in turn."""
    numba = pytest.importorskip("numba")
    from faceapi_np.backend.numba_threads import numba_threads
    from faceapi_np.backend.numba_tiling import tiles

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba runs on one thread here")

    x_shape, cout, stride, padding = CASES[-1]
    n, h, w, c = x_shape
    nb = get_backend("numba")
    x, dw, pw, kw = _inputs(x_shape, cout, stride, padding, TERMS[1])
    want = _reference(x, dw, pw, stride, padding, kw)
    with numba_threads(2):
        tile, block, threads = tiles(n * h, w * c, w * c * (cout + 9), n * h * w, cout, 2)
        assert threads == 2 and -(-n * h // tile) * -(-cout // block) >= 2 * threads
        got = nb.separable_conv2d(x, dw, pw, stride, padding, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_numba_separable_does_not_depend_on_the_thread_count():
    """Its tiles, as a conv's, never depend on the thread count: bit-identical results."""
    numba = pytest.importorskip("numba")
    nb = get_backend("numba")
    x, dw, pw, kw = _inputs((2, 40, 37, 32), 48, 1, "same", TERMS[1])
    previous = numba.get_num_threads()
    got = []
    try:
        for threads in sorted({1, previous}):
            numba.set_num_threads(threads)
            got.append(nb.separable_conv2d(x, dw, pw, 1, "same", **kw))
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(got[0], got[-1])
