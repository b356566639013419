"""Chains of separable convs: every backend against the convs one by one.

``Backend.separable_chain`` is its separable convs in turn; the numba backend runs two
consecutive ones with a large map between them as one depth-first kernel
(``kernels/numba/separable_pair.py``), which must give the one-by-one kernels' outputs
bit for bit, whatever the shapes, terms and thread count.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceapi_np.backend import Backend, get_backend
from faceapi_np.backend.base import Conv, SeparableConv


def _conv(rng, cin, cout, stride, bn=True, dact="relu6", bias=True, act="relu6", **extra):
    """A seeded ``SeparableConv`` from ``cin`` to ``cout`` channels."""
    batch_norm = None
    if bn:
        mean, inv, offset = (rng.standard_normal(cin).astype(np.float32) for _ in range(3))
        batch_norm = (mean, np.abs(inv) + np.float32(0.5), offset)
    return SeparableConv(
        rng.standard_normal((3, 3, cin, 1)).astype(np.float32),
        (rng.standard_normal((1, 1, cin, cout)) / np.sqrt(cin)).astype(np.float32),
        stride,
        "same",
        depthwise_bn=batch_norm,
        depthwise_act=dact,
        bias=rng.standard_normal(cout).astype(np.float32) if bias else None,
        act=act,
        **extra,
    )


def _one_by_one(bk, x, convs):
    """The chain as the base class runs it: ``separable_conv2d`` for each conv."""
    return Backend.separable_chain(bk, x, convs)


def _numba():
    pytest.importorskip("numba")
    return get_backend("numba")


PAIRS = [  # x shape, mid channels, output channels, second stride
    ((1, 12, 10, 8), 16, 24, 2),  # even height, stride 2: pads (0, 1)
    ((2, 9, 11, 16), 32, 16, 2),  # odd sizes, two images (rows of both in a thread's run)
    ((1, 7, 6, 3), 16, 8, 1),  # few input channels: the depthwise numba loop
    ((2, 5, 19, 32), 48, 40, 1),
    ((1, 1, 4, 16), 16, 16, 2),  # a one-row map
]


@pytest.mark.parametrize("x_shape,mid,cout,stride", PAIRS)
def test_numba_pair_equals_the_convs_one_by_one(x_shape, mid, cout, stride):
    """The depth-first kernel computes every value as the single kernels do."""
    nb = _numba()
    rng = np.random.default_rng(sum(x_shape) + mid + cout)
    x = rng.standard_normal(x_shape).astype(np.float32)
    first = _conv(rng, x_shape[3], mid, 1)
    second = _conv(rng, mid, cout, stride)
    got = nb._separable_pair(x, first, second)
    want = _one_by_one(nb, x, [first, second])
    assert got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.parametrize(
    "first_terms,second_terms",
    [
        (dict(bn=False, dact=None, input_act="relu"), dict(act="leaky")),
        (dict(bias=False, act=None), dict(bn=False, dact="relu", scale=True)),
    ],
    ids=["input-relu", "scale"],
)
def test_numba_pair_with_other_terms(first_terms, second_terms):
    """Input ReLU, no batch norm, no bias, a scale layer on the second conv."""
    nb = _numba()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 10, 9, 16)).astype(np.float32)
    scale = second_terms.pop("scale", False)
    first = _conv(rng, 16, 32, 1, **first_terms)
    second = _conv(rng, 32, 24, 2, **second_terms)
    if scale:
        second = second._replace(scale=tuple(rng.standard_normal((2, 24)).astype(np.float32)))
    got = nb._separable_pair(x, first, second)
    assert np.array_equal(got, _one_by_one(nb, x, [first, second]))


def test_numba_pair_does_not_depend_on_the_thread_count():
    """Threads take runs of rows, each making its own rows of the map between: the same
    bits on one thread as on several."""
    nb = _numba()
    import numba

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 23, 17, 16)).astype(np.float32)
    convs = [_conv(rng, 16, 32, 1), _conv(rng, 32, 16, 2)]
    previous = numba.get_num_threads()
    got = []
    try:
        for threads in sorted({1, previous}):
            numba.set_num_threads(threads)
            got.append(nb._separable_pair(x, *convs))
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(got[0], got[-1])


def test_numba_pair_from_several_threads_at_once():
    """Callers overlapping on the pair kernel each get their own scratch buffers."""
    nb = _numba()
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 31, 29, 16)).astype(np.float32)
    convs = [_conv(rng, 16, 32, 1), _conv(rng, 32, 48, 2)]
    want = _one_by_one(nb, x, convs)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: nb._separable_pair(x, *convs), range(6)))
    for got in results:
        assert np.array_equal(got, want)


def test_numba_chain_runs_large_maps_depth_first():
    """A chain whose map between two convs is large takes the pair kernel (the rule:
    ``numba_tiling.takes_depth_first``) and gives the one-by-one result, within 1e-5 of
    the NumPy backend's."""
    nb = _numba()
    from faceapi_np.backend.numba_tiling import DEPTH_FIRST_MIN_FLOATS

    rng = np.random.default_rng(9)
    side, mid = 128, DEPTH_FIRST_MIN_FLOATS // (128 * 128)  # the map between the first two
    assert side * side * mid == DEPTH_FIRST_MIN_FLOATS and mid % 16 == 0  # the threshold
    x = rng.standard_normal((1, side, side, 16)).astype(np.float32)
    convs = [_conv(rng, 16, mid, 1), _conv(rng, mid, 32, 2), _conv(rng, 32, 16, 1)]
    assert nb._pairs(x.shape, convs[0], convs[1])
    assert not nb._pairs((1, side, side - 1, 16), convs[0], convs[1])  # a smaller map
    calls = []
    pair = nb._separable_pair
    nb._separable_pair = lambda *a: calls.append(a[0].shape) or pair(*a)
    try:
        got = nb.separable_chain(x, convs)
    finally:
        del nb._separable_pair
    assert calls == [x.shape]
    assert np.array_equal(got, _one_by_one(nb, x, convs))
    want = get_backend("numpy").separable_chain(x, convs)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def _stem(rng, cin, cout, stride, kernel=3, norm=True):
    """A seeded stem ``Conv``: ``kernel`` x ``kernel``, bias, ReLU6 and (``norm``) an
    input normalisation with a scale and an offset, as SSD's first conv has."""
    w = (rng.standard_normal((kernel, kernel, cin, cout)) / np.sqrt(9 * cin)).astype(np.float32)
    input_norm = ((0.0078, 0.0079, 0.0077)[:cin], (1.0,) * cin, (1.0,) * cin) if norm else None
    bias = rng.standard_normal(cout).astype(np.float32)
    return Conv(w, stride, "same", bias, act="relu6", input_norm=input_norm)


STEMS = [  # input shape, stem stride, stem channels, mid channels, second stride, norm
    ((1, 14, 12, 3), 2, 16, 32, 2, True),  # even sizes, stride 2: pads (0, 1)
    ((2, 15, 9, 3), 2, 32, 16, 1, False),  # odd sizes, two images, no normalisation
    ((1, 9, 8, 1), 1, 16, 16, 2, True),  # stride-1 stem, one channel
]


@pytest.mark.parametrize("x_shape,stem_stride,c1,mid,stride,norm", STEMS)
def test_numba_pair_with_a_stem_equals_the_conv_then_the_pair(
    x_shape, stem_stride, c1, mid, stride, norm
):
    """A few-channel conv made row by row into the pair's ring gives the conv kernel's
    values, and the pair after it the one-by-one kernels', bit for bit."""
    nb = _numba()
    rng = np.random.default_rng(sum(x_shape) + c1 + mid)
    x = rng.uniform(0, 255, x_shape).astype(np.float32)
    stem = _stem(rng, x_shape[3], c1, stem_stride, norm=norm)
    first, second = _conv(rng, c1, mid, 1), _conv(rng, mid, 24, stride)
    got = nb._separable_pair(x, first, second, stem)
    want = _one_by_one(nb, nb.conv2d(x, **stem._asdict()), [first, second])
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_numba_chain_takes_its_stem_into_the_first_pair():
    """A chain with a stem before a large first map runs the stem inside the pair kernel
    (``_stem_fits``) and gives the conv then the convs one by one, within 1e-5 of the
    NumPy backend's; a stem the kernel does not take runs as its own conv first."""
    nb = _numba()
    from faceapi_np.backend.numba_tiling import DEPTH_FIRST_MIN_FLOATS

    rng = np.random.default_rng(10)
    side, mid = 128, DEPTH_FIRST_MIN_FLOATS // (128 * 128)
    x = rng.uniform(0, 255, (1, 2 * side, 2 * side, 3)).astype(np.float32)
    stem = _stem(rng, 3, 16, 2)
    convs = [_conv(rng, 16, mid, 1), _conv(rng, mid, 32, 2), _conv(rng, 32, 16, 1)]
    assert nb._stem_fits(x.shape, stem, convs[0], convs[1])
    declined = {
        "many input channels": (
            np.zeros((1, 8, 8, 16), np.float32),
            stem._replace(w=stem.w.repeat(6, 2)[:, :, :16]),
        ),
        "channels not in blocks of 16": (x, stem._replace(w=stem.w[..., :12])),
        "a 1x1 stride-1 stem": (x[:, ::2, ::2], stem._replace(w=stem.w[1:2, 1:2], stride=1)),
    }
    for why, (xd, sd) in declined.items():
        assert not nb._stem_fits(xd.shape, sd, convs[0], convs[1]), why
    calls = []
    pair = nb._separable_pair
    nb._separable_pair = lambda *a: calls.append(len(a)) or pair(*a)
    try:
        got = nb.separable_chain(x, convs, stem)
    finally:
        del nb._separable_pair
    assert calls == [4]  # the pair, given the stem
    want = _one_by_one(nb, nb.conv2d(x, **stem._asdict()), convs)
    assert np.array_equal(got, want)
    ref = get_backend("numpy").separable_chain(x, convs, stem)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize(
    "why,change",
    [
        ("first of stride 2", lambda a, b: (a._replace(stride=2), b)),
        ("mid channels not a multiple of 16", lambda a, b: (_resized(a, 24), _resized(b, 24, 0))),
        ("a 5x5 depthwise filter", lambda a, b: (a, b._replace(depthwise_filter=_five(b)))),
        ("valid padding", lambda a, b: (a, b._replace(padding="valid"))),
        ("an input ReLU on the second", lambda a, b: (a, b._replace(input_act="relu"))),
    ],
)
def test_numba_pair_rule_declines(why, change):
    """What the pair kernel does not take runs one by one."""
    nb = _numba()
    rng = np.random.default_rng(3)
    first, second = change(_conv(rng, 16, 128, 1), _conv(rng, 128, 16, 2))
    assert not nb._pairs((1, 512, 512, 16), first, second), why


def _resized(conv, channels, axis=3):
    """``conv`` with its pointwise filter's output (or, axis 0, the depthwise filter's
    channels) cut or tiled to ``channels``."""
    if axis == 3:
        return conv._replace(
            pointwise_filter=np.resize(conv.pointwise_filter, (1, 1, 16, channels))
        )
    return conv._replace(depthwise_filter=np.resize(conv.depthwise_filter, (3, 3, channels, 1)))


def _five(conv):
    return np.resize(conv.depthwise_filter, (5, 5) + conv.depthwise_filter.shape[2:])


def test_chain_matches_the_convs_one_by_one_on_every_backend(bk):
    """Every backend's chain is its convs in turn (NumPy reference: one by one)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 9, 10, 8)).astype(np.float32)
    convs = [_conv(rng, 8, 16, 1), _conv(rng, 16, 16, 2), _conv(rng, 16, 8, 1, act="leaky")]
    want = _one_by_one(get_backend("numpy"), x, convs)
    on = [
        SeparableConv(
            *(
                tuple(bk.asarray(a) for a in v)
                if isinstance(v, tuple)
                else bk.asarray(v)
                if isinstance(v, np.ndarray)
                else v
                for v in conv
            )
        )
        for conv in convs
    ]
    got = bk.separable_chain(bk.asarray(x), on)
    np.testing.assert_allclose(bk.to_numpy(got), want, rtol=1e-5, atol=1e-5)
