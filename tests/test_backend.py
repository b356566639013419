"""Choosing a backend: names, the active backend, the environment variable, light imports.

Every test here leaves the global choice as it found it (``set_backend(None)`` in a
finalizer), and the import checks run in a fresh interpreter so that what this session
has already imported cannot hide a heavy import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

import faceapi_np
from faceapi_np.backend import (
    BACKENDS,
    Backend,
    available_backends,
    get_backend,
    set_backend,
)
from faceapi_np.errors import BackendError, FaceApiError, InputError


@pytest.fixture(autouse=True)
def clean_backend_state(monkeypatch):
    """No FACEAPI_NP_BACKEND from outside, and no set_backend() leaking out of a test."""
    monkeypatch.delenv("FACEAPI_NP_BACKEND", raising=False)
    set_backend(None)
    yield
    set_backend(None)


def test_get_backend_numpy():
    bk = get_backend("numpy")
    assert isinstance(bk, Backend)
    assert bk.name == "numpy"
    assert bk.xp is np
    assert repr(bk) == "<Backend numpy>"
    assert get_backend("numpy") is bk  # created once, then cached
    assert get_backend("NumPy") is bk  # names are case-insensitive


@pytest.mark.parametrize("name", [None, "auto"])
def test_default_backend_works(name):
    bk = get_backend(name)
    assert isinstance(bk, Backend)
    assert bk.name in BACKENDS
    x = bk.asarray(np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3))
    w = bk.asarray(np.ones((3, 3, 3, 2), np.float32))
    out = bk.to_numpy(bk.conv2d(x, w, 1, "same"))
    assert isinstance(out, np.ndarray)
    assert out.shape == (2, 4, 5, 2)
    assert out[0, 0, 0, 0] == sum(range(0, 6)) + sum(
        range(15, 21)
    )  # top-left 2x2 window, 3 channels


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(BackendError) as info:
        get_backend("tpu")
    msg = str(info.value)
    assert "'tpu'" in msg
    for name in BACKENDS:
        assert name in msg
    assert "auto" in msg
    assert isinstance(info.value, FaceApiError)


def test_set_backend_then_get_backend():
    bk = set_backend("numpy")
    assert bk.name == "numpy"
    assert get_backend() is bk
    assert set_backend(None) is None
    assert get_backend() is get_backend("auto")


def test_set_backend_unknown_fails_and_keeps_the_active_one():
    set_backend("numpy")
    with pytest.raises(BackendError):
        set_backend("bogus")
    assert get_backend().name == "numpy"


def test_environment_variable_chooses_the_backend(monkeypatch):
    monkeypatch.setenv("FACEAPI_NP_BACKEND", "numpy")
    assert get_backend().name == "numpy"
    assert get_backend() is get_backend("numpy")


def test_environment_variable_unknown_name(monkeypatch):
    monkeypatch.setenv("FACEAPI_NP_BACKEND", "bogus")
    with pytest.raises(BackendError, match="bogus"):
        get_backend()
    # an explicit name or set_backend() wins over the environment
    assert get_backend("numpy").name == "numpy"
    set_backend("numpy")
    assert get_backend().name == "numpy"


def test_available_backends_includes_numpy():
    names = available_backends()
    assert "numpy" in names
    assert set(names) <= set(BACKENDS)
    for name in names:
        assert get_backend(name).name == name


def test_package_reexports_the_backend_functions():
    assert faceapi_np.get_backend is get_backend
    assert faceapi_np.set_backend is set_backend
    assert faceapi_np.available_backends is available_backends
    assert faceapi_np.BackendError is BackendError


# --- import weight -------------------------------------------------------------------

_HEAVY = "sorted(m for m in sys.modules if m.split('.')[0].startswith(('numba', 'cupy')))"


def _run_python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FACEAPI_NP_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_is_light():
    code = f"import sys, faceapi_np\nheavy = {_HEAVY}\nassert not heavy, heavy\n"
    res = _run_python(code)
    assert res.returncode == 0, res.stderr


def test_numpy_backend_is_light():
    code = (
        "import sys, faceapi_np\n"
        "bk = faceapi_np.get_backend('numpy')\n"
        "assert bk.name == 'numpy'\n"
        f"heavy = {_HEAVY}\nassert not heavy, heavy\n"
    )
    res = _run_python(code)
    assert res.returncode == 0, res.stderr


# --- the Backend interface -----------------------------------------------------------


def test_base_class_kernels_are_abstract():
    base = Backend(np)
    assert base.name == "base"
    assert base.xp is np
    x = np.zeros((1, 3, 3, 2), np.float32)
    with pytest.raises(NotImplementedError):
        base.conv2d(x, np.zeros((3, 3, 2, 4), np.float32), 1, "same")
    with pytest.raises(NotImplementedError):
        base.depthwise_conv2d(x, np.zeros((3, 3, 2, 1), np.float32), 1, "same")


def test_numpy_to_numpy_and_asarray():
    bk = get_backend("numpy")
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert bk.asarray(a) is a  # no copy when already there
    back = bk.to_numpy(bk.asarray(a))
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, a)
    assert isinstance(bk.asarray([1.0, 2.0]), np.ndarray)
    out = bk.to_numpy(
        bk.depthwise_conv2d(
            bk.asarray(np.ones((1, 2, 2, 3), np.float32)),
            bk.asarray(np.ones((3, 3, 3, 1), np.float32)),
            1,
            "same",
        )
    )
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, np.full((1, 2, 2, 3), 4.0, np.float32))


def test_to_numpy_uses_asnumpy_when_the_namespace_has_it():
    """A GPU namespace (cupy) brings arrays home with ``asnumpy``; the base class uses it."""
    calls = []

    def asnumpy(a):
        calls.append(a)
        return np.asarray(a) * 2

    fake = types.SimpleNamespace(asarray=np.asarray, asnumpy=asnumpy)
    bk = Backend(fake)
    np.testing.assert_array_equal(bk.to_numpy(np.array([1.0, 2.0])), [2.0, 4.0])
    assert len(calls) == 1


def test_auto_prefers_numba_when_it_works():
    pytest.importorskip("numba")
    from faceapi_np.backend import get_backend

    assert get_backend("auto").name == "numba"


def test_broken_numba_falls_back_to_numpy_with_one_warning(monkeypatch):
    """A numba that cannot be imported (or compiled) means NumPy, one warning, no crash."""
    import warnings

    import faceapi_np.backend as backend

    monkeypatch.setitem(backend.BACKENDS, "numba", "faceapi_np.backend.no_such_module")
    monkeypatch.setattr(
        backend, "_cache", {k: v for k, v in backend._cache.items() if k != "numba"}
    )
    monkeypatch.setattr(backend, "_warned", set())
    with pytest.warns(RuntimeWarning, match="backend 'numba' is not usable here.*falling back"):
        assert backend.get_backend("auto").name == "numpy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: silent
        assert backend.get_backend("auto").name == "numpy"
    with pytest.raises(BackendError, match="backend 'numba' is not usable here"):
        backend.get_backend("numba")  # asked for by name: a clear error


def test_numba_backend_results_equal_numpy_on_a_whole_net(weights_dir):
    """Raw outputs of every net on numba within 1e-5 relative of the NumPy reference."""
    pytest.importorskip("numba")
    import faceapi_np as fa
    from faceapi_np.backend import get_backend

    nb, ref = get_backend("numba"), get_backend("numpy")
    rng = np.random.default_rng(7)
    for cls, size, batch in (
        (fa.SsdMobilenetv1, 512, 1),
        (fa.TinyFaceDetector, 224, 2),
        (fa.FaceLandmark68Net, 112, 3),
        (fa.FaceLandmark68TinyNet, 112, 3),
        (fa.FaceRecognitionNet, 150, 2),
    ):
        net = cls().load(weights_dir)
        x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
        got, want = net.forward(x, nb), net.forward(x, ref)
        for g, w in zip(
            got if isinstance(got, tuple) else [got],
            want if isinstance(want, tuple) else [want],
        ):
            assert np.abs(g - w).max() <= 1e-5 * np.abs(w).max(), cls.__name__


# --- fused kernels against the NumPy reference -----------------------------------------
# Odd sizes and channel counts wide enough for the vectorised paths (and their remainders).

FUSED_DEPTHWISE_CASES = [
    ((2, 9, 11, 19), 1, "same"),
    ((1, 10, 9, 35), 2, "same"),  # even height, stride 2: pads (0, 1)
    ((1, 9, 10, 17), 2, 1),
    ((2, 8, 7, 16), 1, "valid"),
    ((1, 12, 10, 32), 2, "same"),  # whole vectors of channels: the numba IR rows
    ((2, 9, 11, 48), 1, "same"),
]


@pytest.mark.parametrize("x_shape,stride,padding", FUSED_DEPTHWISE_CASES)
@pytest.mark.parametrize("act,input_act", [(None, None), ("relu6", None), ("leaky", "relu")])
def test_fused_depthwise_matches_numpy(bk, x_shape, stride, padding, act, input_act):
    rng = np.random.default_rng(sum(x_shape) + stride)
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((3, 3, c, 1)).astype(np.float32)
    bn = tuple(rng.standard_normal(c).astype(np.float32) for _ in range(3))
    ref = get_backend("numpy")
    want = ref.depthwise_conv2d(x, w, stride, padding, bn=bn, act=act, input_act=input_act)
    got = bk.depthwise_conv2d(
        bk.asarray(x),
        bk.asarray(w),
        stride,
        padding,
        bn=tuple(bk.asarray(v) for v in bn),
        act=act,
        input_act=input_act,
    )
    assert got.shape == want.shape
    np.testing.assert_allclose(bk.to_numpy(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_numba_depthwise_batch_norm_relu6_in_the_stores_equals_the_pass_after(stride):
    """MobileNet's batch norm and ReLU6, applied by the numba rows' stores, give the
    bits of the separate pass over the row (taken when the batch norm's vectors are not
    contiguous)."""
    pytest.importorskip("numba")
    get_backend("numba")  # where the kernels' compiled code is kept
    from faceapi_np.backend.geometry import conv_geometry
    from faceapi_np.kernels.numba import depthwise

    rng = np.random.default_rng(12 + stride)
    x = (3 * rng.standard_normal((2, 11, 13, 32))).astype(np.float32)  # sums past 0 and 6
    w = rng.standard_normal((3, 3, 32)).astype(np.float32)
    bn = tuple(rng.standard_normal((32, 2)).astype(np.float32) for _ in range(3))
    strided = tuple(v[:, 0] for v in bn)  # every second float: the pass after the sums
    contiguous = tuple(np.ascontiguousarray(v) for v in strided)
    pt, pl, ho, wo = conv_geometry(11, 13, 3, 3, stride, "same")
    got, want = (np.empty((2, ho, wo, 32), np.float32) for _ in range(2))
    for v, out in ((contiguous, got), (strided, want)):
        depthwise.depthwise3x3(x, w, stride, pt, pl, ho, wo, *v, 2, False, out)
    assert 0 < (got == 6).mean() < 0.5 and 0 < (got == 0).mean() < 0.9
    assert np.array_equal(got, want)


FUSED_CONV_CASES = [
    ((2, 9, 11, 3), (3, 3, 3, 16), 1, "valid"),  # 3-channel first layers
    ((1, 17, 15, 3), (7, 7, 3, 32), 2, "valid"),
    ((2, 10, 9, 3), (3, 3, 3, 32), 2, "same"),
    ((2, 9, 11, 16), (1, 1, 16, 32), 1, "valid"),  # pointwise
    ((1, 9, 7, 21), (1, 1, 21, 19), 1, "same"),
    ((2, 9, 11, 32), (3, 3, 32, 32), 1, "same"),  # residual blocks
    ((1, 11, 10, 24), (3, 3, 24, 40), 2, "valid"),
    ((1, 9, 8, 5), (3, 3, 5, 7), 1, 1),
    ((2, 40, 37, 32), (3, 3, 32, 32), 1, "same"),  # several tiles per thread
    ((2, 1, 1, 24), (3, 3, 24, 16), 1, "same"),  # only the middle tap reads the map
    ((1, 2, 1, 5), (3, 3, 5, 6), 2, "same"),  # a tap column only ever reads padding
    ((1, 9, 8, 2), (3, 3, 2, 7), 1, 1),  # few channels: read in a padded copy, no im2col
    ((2, 7, 6, 3), (5, 5, 3, 4), 3, "same"),  # few channels, stride 3, a 5x5 window
    ((1, 3, 3, 16), (3, 3, 16, 80), 1, "same"),  # more filters than pixels: channel blocks
    ((2, 2, 3, 20), (3, 3, 20, 96), 1, "same"),  # 9-12 pixels: blocks of 8 rows and 4
    ((2, 2, 4, 20), (3, 3, 20, 96), 1, "same"),  # 13-16 pixels: the product turned around
    # ... its receptive fields gathered 16 channels at a time (transpose_ir): 16 pixels,
    # fewer over two images, a stride
    ((1, 4, 4, 32), (3, 3, 32, 96), 1, "same"),
    ((2, 1, 7, 48), (3, 3, 48, 64), 1, "same"),
    ((1, 9, 9, 16), (3, 3, 16, 48), 2, "valid"),
    ((1, 4, 4, 24), (3, 3, 24, 40), 2, "valid"),  # 1 pixel, many filters: channel blocks
    ((1, 3, 3, 512), (1, 1, 512, 12), 1, "valid"),  # a deep product of <= 16 columns
    # stride 1, 32+ channels on rows of 32+ pixels: a product per filter row over
    # padded input rows
    ((1, 6, 34, 32), (3, 3, 32, 12), 1, "valid"),
    ((2, 5, 33, 36), (5, 5, 36, 20), 1, 2),
    ((1, 4, 32, 40), (3, 1, 40, 16), 1, "same"),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", FUSED_CONV_CASES)
@pytest.mark.parametrize(
    "terms",
    # every (terms, activation) pair the numba product's store has straight-line code for
    # (block_ir._COMMON), and others that take its branching path
    [
        "bias+leaky",
        "bias+scale+residual+relu",
        "none",
        "bias",
        "bias+relu6",
        "relu",
        "bias+scale",
        "residual+leaky",
    ],
)
def test_fused_conv2d_matches_numpy(bk, x_shape, w_shape, stride, padding, terms):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape) + stride)
    cout = w_shape[3]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[:3]))).astype(np.float32)
    ref = get_backend("numpy")
    shape = ref.conv2d(x, w, stride, padding).shape
    parts = terms.split("+")
    kw = {}
    if parts[-1] in ("relu", "relu6", "leaky"):
        kw["act"] = parts[-1]
    if "bias" in parts:
        kw["bias"] = rng.standard_normal(cout).astype(np.float32)
    if "scale" in parts:
        kw["scale"] = tuple(rng.standard_normal(cout).astype(np.float32) for _ in range(2))
    if "residual" in parts:
        kw["residual"] = rng.standard_normal(shape).astype(np.float32)
    want = ref.conv2d(x, w, stride, padding, **kw)
    on_bk = {
        k: (tuple(bk.asarray(a) for a in v) if k == "scale" else bk.asarray(v))
        for k, v in kw.items()
        if k != "act"
    }
    got = bk.conv2d(bk.asarray(x), bk.asarray(w), stride, padding, act=kw.get("act"), **on_bk)
    assert got.shape == want.shape
    np.testing.assert_allclose(bk.to_numpy(got), want, rtol=1e-5, atol=1e-5)


def _norm_for(c, rng, kind):
    """An input normalisation for c channels: face-api.js's two forms, random values."""
    if kind == "mean":  # (x - mean) / 256
        return (1.0,) * c, tuple(float(v) for v in rng.uniform(90, 130, c)), (256.0,) * c
    return (0.007843137718737125,) * c, (1.0,) * c, (1.0,) * c  # x * 2/255 - 1


@pytest.mark.parametrize(
    "x_shape,w_shape,stride,padding",
    [
        ((1, 18, 18, 3), (3, 3, 3, 16), 1, "valid"),  # Tiny's first conv, pooled as stored
        ((2, 15, 13, 3), (3, 3, 3, 16), 1, "same"),  # odd maps: a last row and column alone
        ((3, 9, 7, 3), (3, 3, 3, 8), 2, "same"),
        ((1, 1, 1, 3), (3, 3, 3, 16), 1, "same"),  # one pixel
        ((2, 9, 11, 8), (3, 3, 8, 16), 1, "same"),  # not a few-channel conv: pooled after
        ((1, 7, 7, 16), (3, 3, 16, 16), 1, "same"),  # Winograd: pooled after
    ],
)
def test_conv2d_max_pool_equals_pooling_after(bk, x_shape, w_shape, stride, padding):
    """``conv2d(max_pool=2)`` returns, bit for bit, ``max_pool(conv2d(...), 2, 2, 'same')``."""
    rng = np.random.default_rng(sum(x_shape) + w_shape[3])
    x = bk.asarray(rng.standard_normal(x_shape).astype(np.float32))
    w = bk.asarray(rng.standard_normal(w_shape).astype(np.float32))
    b = bk.asarray(rng.standard_normal(w_shape[3]).astype(np.float32))
    want = bk.max_pool(bk.conv2d(x, w, stride, padding, bias=b, act="leaky"), 2, 2, "same")
    got = bk.conv2d(x, w, stride, padding, bias=b, act="leaky", max_pool=2)
    assert got.shape == want.shape
    np.testing.assert_array_equal(bk.to_numpy(got), bk.to_numpy(want))


@pytest.mark.parametrize(
    "x_shape,cout",
    [
        ((1, 21, 21, 16), 32),  # odd: the last pooled row and column from one output each
        ((2, 13, 13, 8), 16),  # batch, odd rows: pooled tiles cross images
        ((3, 7, 5, 16), 40),
        ((1, 26, 26, 128), 256),  # several tiles, an even map
        ((1, 5, 5, 64), 128),  # fewer pixels than filters: channel blocks, pooled after
    ],
)
def test_separable_max_pool_equals_pooling_after(bk, x_shape, cout):
    """``separable_conv2d(max_pool=2)``, as Tiny Face Detector calls it (pad 1, leaky
    ReLU), returns bit for bit the pool of the separable conv's output."""
    rng = np.random.default_rng(sum(x_shape) + cout)
    c = x_shape[3]
    x = bk.asarray(rng.standard_normal(x_shape).astype(np.float32))
    dw = bk.asarray(rng.standard_normal((3, 3, c, 1)).astype(np.float32))
    pw = bk.asarray((rng.standard_normal((1, 1, c, cout)) / np.sqrt(c)).astype(np.float32))
    b = bk.asarray(rng.standard_normal(cout).astype(np.float32))
    y = bk.separable_conv2d(x, dw, pw, 1, 1, bias=b, act="leaky")
    want = bk.to_numpy(bk.max_pool(y, 2, 2, "same"))
    got = bk.to_numpy(bk.separable_conv2d(x, dw, pw, 1, 1, bias=b, act="leaky", max_pool=2))
    np.testing.assert_array_equal(got, want)
    assert got.shape == (x_shape[0], -(-x_shape[1] // 2), -(-x_shape[2] // 2), cout)


@pytest.mark.parametrize(
    "x_shape,w_shape,stride,padding",
    [
        ((1, 14, 13, 3), (3, 3, 3, 16), 1, "valid"),  # Tiny's first conv: normalised in its copy
        ((2, 12, 12, 3), (3, 3, 3, 32), 2, "same"),  # SSD's, landmarks': the padding stays 0
        ((1, 15, 16, 3), (7, 7, 3, 32), 2, "valid"),  # the recognition net's
        ((1, 2, 3, 3), (3, 3, 3, 40), 1, "same"),  # 6 pixels, 40 filters: channel blocks
        ((1, 9, 11, 8), (3, 3, 8, 16), 1, "same"),  # more channels: normalised first
        ((1, 6, 7, 16), (3, 3, 16, 16), 1, "same"),  # Winograd: normalised first
    ],
)
@pytest.mark.parametrize("kind", ["mean", "scale"])
def test_conv2d_input_norm_equals_normalising_first(bk, x_shape, w_shape, stride, padding, kind):
    """A conv given the input normalisation returns, bit for bit, what it returns on the
    input normalised by ``layers.normalize`` (the nets' outputs do not move)."""
    from faceapi_np import layers

    rng = np.random.default_rng(sum(x_shape) + len(kind))
    x = rng.integers(0, 256, x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[:3]))).astype(np.float32)
    b = rng.standard_normal(w_shape[3]).astype(np.float32)
    norm = _norm_for(x_shape[3], rng, kind)
    seen = layers.normalize(bk.asarray(x), norm, bk)
    want = bk.to_numpy(bk.conv2d(seen, bk.asarray(w), stride, padding, bias=bk.asarray(b)))
    got = bk.conv2d(
        bk.asarray(x), bk.asarray(w), stride, padding, bias=bk.asarray(b), input_norm=norm
    )
    np.testing.assert_array_equal(bk.to_numpy(got), want)
    ref = get_backend("numpy")
    np.testing.assert_allclose(
        want, ref.conv2d(x, w, stride, padding, bias=b, input_norm=norm), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "x_shape,cout,padding",
    [((2, 9, 11, 16), 24, "same"), ((1, 8, 7, 32), 16, "valid"), ((3, 5, 6, 16), 16, 1)],
)
def test_numba_winograd_conv_matches_the_direct_one(x_shape, cout, padding, monkeypatch):
    """3x3 stride-1 convs by F(2x2, 3x3): odd and even sizes, edge tiles, every epilogue term."""
    pytest.importorskip("numba")
    from faceapi_np.backend import numba_tiling
    from faceapi_np.backend.numba_backend import NumbaBackend

    # small shapes, Winograd wherever it can run (the rule would leave them direct)
    monkeypatch.setattr(numba_tiling, "WINOGRAD_MIN_C", 16)
    monkeypatch.setattr(numba_tiling, "WINOGRAD_MIN_TILES", 1)
    rng = np.random.default_rng(sum(x_shape) + cout)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal((3, 3, x_shape[3], cout)) / 12).astype(np.float32)
    kw = dict(
        bias=rng.standard_normal(cout).astype(np.float32),
        scale=tuple(rng.standard_normal(cout).astype(np.float32) for _ in range(2)),
        act="relu",
    )
    want = get_backend("numpy").conv2d(x, w, 1, padding, **kw)
    kw["residual"] = rng.standard_normal(want.shape).astype(np.float32)
    want = get_backend("numpy").conv2d(x, w, 1, padding, **kw)
    nb = NumbaBackend()
    nb.winograd = True
    got = nb.conv2d(x, w, 1, padding, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert (w, ("winograd", 0, 3, 0, 3)) in nb._packed  # the transform is kept with the filter
    assert len(nb._plans) == 1  # and so is the conv's plan
    del w
    assert len(nb._packed) == len(nb._plans) == 0  # both dropped with it


def test_numba_winograd_bands_hold_a_block_of_the_products_rows():
    """A band's tiles are the rows of its 16 products: at least a block of them (MR)."""
    pytest.importorskip("numba")
    from faceapi_np.backend import numba_tiling as nt
    from faceapi_np.kernels.numba import block_ir

    assert (nt.PRODUCT_ROWS, nt.PANEL) == (block_ir.MR, block_ir.NR)
    # the recognition net's (1, 8, 8, 128) convs: 4 rows of 4 tiles -> 2 bands of 8 tiles
    assert nt.winograd_band(4, 4, 128) == 2
    assert nt.winograd_band(1, 4, 16) == 1  # fewer tiles than a block: all of them
    # rows of 8 tiles or more: bands as the other row-tiled kernels' (row_tile)
    for rows, tiles_x, c in ((9, 9, 64), (18, 18, 32), (32, 4, 128), (16, 2, 256)):
        want = nt.row_tile(rows, 16 * c * tiles_x, nt.WINOGRAD_FLOATS)
        assert nt.winograd_band(rows, tiles_x, c) == want


@pytest.mark.parametrize("cin,cout", [(16, 24), (32, 64)])
def test_numba_winograd_filter_transform_is_g_g_gt(cin, cout):
    """The transformed filter, packed, equals G g G^T in float64 rounded once, as the
    module's formula says, for every pair of channels (zeros past C_out)."""
    pytest.importorskip("numba")
    from faceapi_np.kernels.numba import gemm, winograd
    from faceapi_np.kernels.numba.block_ir import NR  # the filter columns a panel holds

    w = np.random.default_rng(cin + cout).standard_normal((3, 3, cin, cout)).astype(np.float32)
    u = np.einsum("ik,klcd,jl->ijcd", winograd.G, w.astype(np.float64), winograd.G)
    want = np.stack([gemm.pack(m) for m in u.reshape(16, cin, cout).astype(np.float32)])
    got = winograd.packed_filter(w)
    assert got.shape == want.shape == (16, -(-cout // NR), cin, NR)
    assert np.array_equal(got, want)


@pytest.mark.parametrize(
    "x_shape,winograd",
    [
        ((1, 35, 35, 32), True),  # the recognition net at batch 1: 324 tiles
        ((8, 17, 17, 64), True),  # 648 tiles of 64 channels
        ((1, 8, 8, 128), True),  # 16 tiles, though fewer pixels than filters
        ((8, 3, 3, 256), False),  # tiles hanging over the map: too few multiplies saved
        ((1, 6, 6, 16), False),  # 9 tiles: its 16 products too short
        ((1, 17, 17, 20), False),  # channels not in whole vectors of the transforms
    ],
)
def test_numba_takes_winograd_where_it_pays(x_shape, winograd):
    """Winograd F(2x2, 3x3) only for convs whose products it shortens enough to gain,
    with channels in whole vectors of its transforms."""
    pytest.importorskip("numba")
    from faceapi_np.backend.numba_backend import NumbaBackend

    c = x_shape[3]
    x = np.ones(x_shape, np.float32)
    w = np.full((3, 3, c, c), 0.01, np.float32)
    nb = NumbaBackend()
    y = nb.conv2d(x, w, 1, "same")
    assert ((w, ("winograd", 0, 3, 0, 3)) in nb._packed) is winograd
    # the centre output: nine taps of c ones times 0.01
    mid = x_shape[1] // 2
    assert y[0, mid, mid, 0] == pytest.approx(9 * c * 0.01, rel=1e-5)


@pytest.mark.parametrize(
    "rows,tile,want",
    [
        (448, 73, 63),  # FaceLandmark68Net's first block at batch 8: 7 tiles -> 8 of 56
        (224, 56, 56),  # 4 tiles already
        (26, 4, 4),  # 7 tiles, and none even within a quarter smaller: left as it is
        (16, 16, 16),  # one tile
        (9, 3, 3),  # 3 tiles, 2 rows would give 5, and no larger size is allowed
    ],
)
def test_row_tiles_come_in_even_numbers_where_they_can(rows, tile, want):
    """Two threads taking runs of tiles get equal shares only of an even count."""
    from faceapi_np.backend.numba_tiling import even_split, row_tile

    got = even_split(rows, tile)
    assert got == want
    assert tile - tile // 4 <= got <= tile
    if got != tile:
        assert -(-rows // got) % 2 == 0
    # up to a size that still fits: the recognition net's 9 rows of Winograd tiles at
    # batch 1 in 2 bands of 5, not 3 of 3
    assert even_split(9, 3, 7) == 5 and row_tile(9, 1000, 7000) == 5
    assert row_tile(9, 1000, 4000) == 3  # 5 rows do not fit: 3 bands


@pytest.mark.parametrize(
    "m,k,n,c0,c1",
    [
        (1, 1, 1, 0, 1),
        (5, 3, 7, 0, 7),
        (7, 9, 16, 0, 16),
        (13, 27, 40, 32, 40),
        (50, 64, 136, 0, 136),
        (200, 600, 72, 32, 72),
        (64, 600, 40, 0, 40),
        (3, 40, 64, 0, 64),  # a short block alone
        (100, 600, 72, 32, 72),  # deep, its last 4 rows a short block
    ],
)
def test_numba_packed_product_on_strided_tiles_edges_and_accumulate(m, k, n, c0, c1):
    """The kernels' product: rows of larger matrices as they lie, short blocks of rows and
    panels of columns, a range of channels, = and +=; nothing outside the range is written.
    The last two cases cross blocks of K (KC): one also blocks of rows (MC), its first
    block of K in another loop order than the later ones; one is deep (``DEEP_ROWS``)."""
    pytest.importorskip("numba")
    from numba import njit

    from faceapi_np.kernels.numba.gemm import gemm_packed, pack

    @njit
    def product(a, wp, c, c0, c1, accumulate):
        gemm_packed(a[2 : 2 + m, 1 : 1 + k], wp, c[3 : 3 + m], c0, c1, accumulate)

    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m + 4, k + 3)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    c = rng.standard_normal((m + 5, n + 4)).astype(np.float32)
    exact = a[2 : 2 + m, 1 : 1 + k].astype(np.float64) @ w
    want = c.copy()
    want[3 : 3 + m, c0:c1] = exact[:, c0:c1]
    got = c.copy()
    product(a, pack(w), got, c0, c1, False)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(k))
    assert np.array_equal(np.delete(got, np.s_[3 : 3 + m], 0), np.delete(c, np.s_[3 : 3 + m], 0))
    assert np.array_equal(got[:, :c0], c[:, :c0]) and np.array_equal(got[:, c1:], c[:, c1:])
    want[3 : 3 + m, c0:c1] += exact[:, c0:c1]
    product(a, pack(w), got, c0, c1, True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5 * np.sqrt(k))


def test_numba_short_blocks_sum_as_whole_blocks_do():
    """A product's last 1-4 rows (a short block) are the same bits as in a whole block."""
    pytest.importorskip("numba")
    from faceapi_np.kernels.numba.block_ir import MR, SHORT_MR
    from faceapi_np.kernels.numba.gemm import gemm_packed, pack

    rng = np.random.default_rng(5)
    a = rng.standard_normal((2 * MR, 300)).astype(np.float32)
    wp = pack(rng.standard_normal((300, 48)).astype(np.float32))
    whole, short = np.zeros((2 * MR, 48), np.float32), np.zeros((MR + SHORT_MR, 48), np.float32)
    gemm_packed(a, wp, whole, 0, 48)
    gemm_packed(a[: MR + SHORT_MR], wp, short, 0, 48)
    assert np.array_equal(short, whole[: MR + SHORT_MR])


def test_numba_packed_filter_layout():
    """Panel p holds columns NR*p .. NR*p + NR-1 of the filter matrix, zeros past its last."""
    from faceapi_np.kernels.numba.gemm import NR, pack

    n = NR + 4  # one whole panel and 4 columns of a second
    w = np.arange(5 * n, dtype=np.float32).reshape(5, n)
    wp = pack(w)
    assert wp.shape == (2, 5, NR) and wp.dtype == np.float32 and wp.flags.c_contiguous
    assert np.array_equal(wp[0], w[:, :NR])
    assert np.array_equal(wp[1, :, :4], w[:, NR:]) and not wp[1, :, 4:].any()


def test_numba_results_do_not_depend_on_the_thread_count():
    """Tiles never depend on the thread count, so neither does BLAS's rounding."""
    numba = pytest.importorskip("numba")
    nb = get_backend("numba")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 40, 37, 32)).astype(np.float32)
    w3 = rng.standard_normal((3, 3, 32, 48)).astype(np.float32)  # Winograd
    w1 = rng.standard_normal((1, 1, 32, 48)).astype(np.float32)  # 1x1
    w7 = rng.standard_normal((7, 7, 32, 16)).astype(np.float32)  # im2col, stride 2
    previous = numba.get_num_threads()
    got = []
    try:
        for threads in sorted({1, previous}):
            numba.set_num_threads(threads)
            got.append([nb.conv2d(x, w3), nb.conv2d(x, w1), nb.conv2d(x, w7, 2)])
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(got[0], got[-1]):
        assert np.array_equal(a, b)


def test_numba_conv2d_from_several_threads_at_once():
    """Convs split over numba's threads stay right when callers overlap (scratch per caller)."""
    pytest.importorskip("numba")
    from concurrent.futures import ThreadPoolExecutor

    nb, ref = get_backend("numba"), get_backend("numpy")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 61, 16)).astype(np.float32)  # big enough to be split
    w = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    want = ref.conv2d(x, w, 1, "same", act="relu")
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: nb.conv2d(x, w, 1, "same", act="relu"), range(6)))
    for got in results:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_blas_single_threaded_sets_and_restores_this_threads_count():
    from faceapi_np.backend import _blas

    fn = _blas._set_local()
    if fn is None:
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS: threads are left to it")
    original = fn(2)  # this thread: 2 BLAS threads
    try:
        with _blas.single_threaded():
            assert fn(1) == 1  # inside: one
        assert fn(2) == 2  # restored on the way out
    finally:
        fn(original)


def test_numba_backend_keeps_freed_memory_for_the_next_pass(weights_dir):
    """A steady-state forward pass reuses freed pages instead of faulting in fresh ones
    (FaceLandmark68TinyNet at batch 8: ~1,800 page faults a pass without)."""
    pytest.importorskip("numba")
    import resource

    from faceapi_np.backend import _memory

    bk = get_backend("numba")
    if not _memory.keep_freed_memory():
        pytest.skip("not glibc, or the user set malloc's thresholds: left alone")
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    x = np.random.default_rng(0).uniform(0, 255, (8, 112, 112, 3)).astype(np.float32)
    for _ in range(3):
        net.forward(x, bk)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        net.forward(x, bk)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults < 100


@pytest.mark.parametrize("name", ["ssd", "tiny", "landmarks", "recognition", "age_gender"])
def test_numba_plans_each_layer_once(weights_dir, name, monkeypatch):
    """A second pass of a net plans nothing: every conv finds the plan of the first
    pass (the terms a net passes are the same arrays on every pass). SSD's depthwise
    batch norms, once made anew on every pass, had all 13 of its layers planned again."""
    pytest.importorskip("numba")
    from faceapi_np.bench import seeded_batch
    from faceapi_np.nets import get_net

    bk = get_backend("numba")
    net = get_net(name)
    net.load(weights_dir)
    x = seeded_batch(1, net.default_input_size)
    net.forward(x, bk)
    planned = []
    for method in ("_plan_conv", "_plan_separable"):
        original = getattr(type(bk), method)

        def counting(self, *args, _original=original, **kwargs):
            planned.append(args[0])
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(type(bk), method, counting)
    net.forward(x, bk)
    assert planned == []


def test_malloc_settings_of_the_user_are_left_alone():
    code = "from faceapi_np.backend import _memory; print(_memory.keep_freed_memory())"
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="1000000")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_numba_backend_under_the_workqueue_threading_layer_serialises_calls():
    """numba's workqueue layer aborts the process when two threads launch kernels at once;
    the backend then runs its ops one at a time, and overlapping callers still get right
    results."""
    pytest.importorskip("numba")
    code = (
        "import numpy as np, numba\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from faceapi_np.backend import get_backend\n"
        "nb, ref = get_backend('numba'), get_backend('numpy')\n"
        "x = np.random.default_rng(3).standard_normal((2, 64, 61, 16)).astype(np.float32)\n"
        "w = np.random.default_rng(4).standard_normal((3, 3, 16, 32)).astype(np.float32)\n"
        "want = ref.conv2d(x, w, 1, 'same', act='relu')\n"
        "with ThreadPoolExecutor(3) as pool:\n"
        "    got = list(pool.map(lambda _: nb.conv2d(x, w, 1, 'same', act='relu'), range(6)))\n"
        "tol = 1e-6 * np.abs(want).max()\n"
        "print(numba.threading_layer(), all(np.abs(g - want).max() < tol for g in got))\n"
    )
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["workqueue", "True"]


def test_numba_conv_plans_follow_their_terms_and_stay_bounded():
    """A conv's plan is made once per filter and input shape; another bias or scale array
    gets a plan of its own (not the first one's terms), and a filter keeps at most
    ``per_filter`` plans (the least recently used go first)."""
    pytest.importorskip("numba")
    from faceapi_np.backend.numba_backend import NumbaBackend

    nb, ref = NumbaBackend(), get_backend("numpy")
    rng = np.random.default_rng(21)
    x = rng.standard_normal((1, 9, 8, 6)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 6, 8)) / 7).astype(np.float32)
    b1, b2 = (rng.standard_normal(8).astype(np.float32) for _ in range(2))
    for _ in range(3):
        nb.conv2d(x, w, 1, "same", bias=b1)
    assert len(nb._plans._store[id(w)][1]) == 1
    got = nb.conv2d(x, w, 1, "same", bias=b2, act="relu")
    np.testing.assert_allclose(got, ref.conv2d(x, w, 1, "same", bias=b2, act="relu"), atol=1e-5)
    b2[:] = 0  # the plan reads the bias array, not a copy of it
    got = nb.conv2d(x, w, 1, "same", bias=b2, act="relu")
    np.testing.assert_allclose(got, ref.conv2d(x, w, 1, "same", act="relu"), atol=1e-5)
    for size in range(5, 5 + nb._plans.per_filter + 4):
        xs = rng.standard_normal((1, size, 7, 6)).astype(np.float32)
        got = nb.conv2d(xs, w, 2, "valid")
        np.testing.assert_allclose(got, ref.conv2d(xs, w, 2, "valid"), atol=1e-5)
    assert len(nb._plans._store[id(w)][1]) == nb._plans.per_filter


@pytest.mark.parametrize("terms", ["all", "bias", "scale"])
@pytest.mark.parametrize("act", [None, "relu", "relu6", "leaky"])
@pytest.mark.parametrize("w_shape", [(1, 1, 24, 40), (3, 3, 24, 7), (3, 3, 3, 16)])
def test_numba_epilogue_in_the_store_equals_the_terms_applied_after(w_shape, act, terms):
    """The numba convs apply bias, scale, residual and activation to the product's sums as
    they store them; that is the same float32 operations, in the same order, as applying
    them to the plain conv's output afterwards: equal bit for bit. Filters of 40 and 7
    channels end in a short panel (masked stores); the nets' (terms, activation) pairs
    have code of their own, the others share the masked path."""
    pytest.importorskip("numba")
    from faceapi_np.activations import leaky_relu

    nb = get_backend("numba")
    rng = np.random.default_rng(sum(w_shape))
    x = rng.standard_normal((2, 9, 10, w_shape[2])).astype(np.float32)
    w = (rng.standard_normal(w_shape) / 5).astype(np.float32)
    cout = w_shape[3]
    bias, sw, sb = (rng.standard_normal(cout).astype(np.float32) for _ in range(3))
    plain = nb.conv2d(x, w, 1, "same")
    residual = rng.standard_normal(plain.shape).astype(np.float32)
    if terms == "bias":
        sw = sb = residual = None
        want = plain + bias
    elif terms == "scale":
        bias = residual = None
        want = plain * sw + sb
    else:
        want = ((plain + bias) * sw + sb) + residual
    if act == "relu":
        want = np.maximum(want, np.float32(0))
    elif act == "relu6":
        want = np.minimum(np.maximum(want, np.float32(0)), np.float32(6))
    elif act == "leaky":
        want = leaky_relu(want, np)
    scale = None if sw is None else (sw, sb)
    got = nb.conv2d(x, w, 1, "same", bias=bias, scale=scale, residual=residual, act=act)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got, want)


def test_a_filter_that_does_not_fit_the_input_says_so(bk):
    x = np.ones((1, 6, 6, 8), np.float32)
    with pytest.raises(InputError, match=r"filter of shape \(3, 3, 4, 16\) does not fit"):
        bk.conv2d(x, np.ones((3, 3, 4, 16), np.float32))
    with pytest.raises(InputError, match="does not fit an input of shape"):
        bk.separable_conv2d(x, np.ones((3, 3, 8, 1), np.float32), np.ones((1, 1, 5, 4), np.float32))
    narrow = np.ones((3, 3, 4, 1), np.float32)  # a depthwise filter for 4 channels, not 8
    with pytest.raises(InputError, match=r"depthwise_conv2d: a filter of shape \(3, 3, 4, 1\)"):
        bk.depthwise_conv2d(x, narrow)
    with pytest.raises(InputError, match="does not fit an input of shape"):
        bk.separable_conv2d(x, narrow, np.ones((1, 1, 8, 4), np.float32))
    from faceapi_np.backend.base import SeparableConv

    fits = SeparableConv(np.ones((3, 3, 8, 1), np.float32), np.ones((1, 1, 8, 16), np.float32))
    with pytest.raises(InputError, match="does not fit an input of shape"):
        bk.separable_chain(x, [fits, SeparableConv(narrow, np.ones((1, 1, 4, 4), np.float32))])
