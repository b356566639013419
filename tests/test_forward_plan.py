"""Recorded forward passes (``backend/forward_plan.py``, ``net.planned``): a replay gives
the eager pass's outputs bit for bit, a pass that cannot be replayed runs as before."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import faceapi_np
from faceapi_np import layers
from faceapi_np.backend import get_backend
from faceapi_np.backend.forward_plan import ForwardPlan
from faceapi_np.errors import BackendError, InputError
from faceapi_np.net import PLANS_PER_NET


@pytest.fixture
def numba_bk():
    try:
        bk = get_backend("numba")
    except BackendError as exc:
        pytest.skip(f"numba backend: {exc}")
    bk.plan_forward = True
    yield bk
    bk.plan_forward = True


def _eager(net, x, bk):
    bk.plan_forward = False
    try:
        return net.forward(x, bk)
    finally:
        bk.plan_forward = True


def _states(net):
    return [v if isinstance(v, str) else type(v).__name__ for v in net._forward_plans.values()]


def _same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    "cls, size, batch",
    [
        ("FaceLandmark68Net", 112, 1),
        ("FaceLandmark68TinyNet", 112, 3),
        ("FaceRecognitionNet", 150, 2),  # its last down block pads and adds
        ("FaceExpressionNet", 112, 1),
        ("AgeGenderNet", 112, 2),  # two outputs
        ("TinyFaceDetector", 160, 1),
        ("SsdMobilenetv1", 512, 1),  # two outputs, the box decoding a kernel
    ],
)
def test_replays_equal_the_eager_pass(cls, size, batch, weights_dir, numba_bk):
    net = getattr(faceapi_np, cls)().load(weights_dir)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    other = rng.uniform(0, 255, x.shape).astype(np.float32)
    want, want_other = _eager(net, x, numba_bk), _eager(net, other, numba_bk)
    assert _same(net.forward(x, numba_bk), want)  # eager, the shape seen once
    assert _states(net) == ["seen once"]
    assert _same(net.forward(other, numba_bk), want_other)  # recorded
    assert _states(net) == ["ForwardPlan"]
    # replays, on inputs other than the recorded one, alternating
    for _ in range(2):
        assert _same(net.forward(x, numba_bk), want)
        assert _same(net.forward(other, numba_bk), want_other)
    # the outputs are the caller's: a later replay does not change them
    kept = net.forward(x, numba_bk)
    net.forward(other, numba_bk)
    assert _same(kept, want)


def test_a_replay_reads_a_batch_laid_out_as_its_input_where_it_lies(weights_dir, numba_bk):
    """A float32 C-contiguous batch is read in place (the steps that read the input are
    given it; nothing is copied, and the batch is left as it was); other layouts, a
    read-only batch and another dtype are copied into the plan's input first. All give
    the eager pass's outputs bit for bit."""
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 255, (2, 112, 112, 3)).astype(np.float32)
    want = _eager(net, x, numba_bk)
    net.forward(x, numba_bk), net.forward(x, numba_bk)
    (plan,) = net._forward_plans.values()
    assert isinstance(plan, ForwardPlan) and plan._reads_x  # the first conv reads it
    before = x.copy()
    assert plan._on(x) is not None
    recorded_input = plan.x.copy()
    assert _same(net.forward(x, numba_bk), want)
    assert _same(x, before) and _same(plan.x, recorded_input)  # read where it lies
    strided = np.zeros((2, 112, 224, 3), np.float32)[:, :, ::2]
    strided[...] = x
    readonly = x.copy()
    readonly.flags.writeable = False
    for other in (strided, readonly, x.astype(np.float64)):
        assert plan._on(other) is None
        assert _same(net.forward(other, numba_bk), want)
    assert _same(plan.x, x)  # those were copied in


def test_a_pass_with_numpy_between_kernels_is_not_replayed(weights_dir, numba_bk):
    """A layer computing with NumPy (no launch) makes an array a replay would not make
    again: the recording says so and the net keeps running eagerly, with right results."""

    class Glued(faceapi_np.FaceLandmark68TinyNet):
        @faceapi_np.net.planned
        def forward(self, batch, bk=None):
            x = self._check_batch(batch, bk)
            p = self.params_on(bk)
            out = layers.conv2d(x, p.dense_blocks[0].conv0.filters, None, bk, 2, act="relu")
            out = out * np.float32(0.5)  # NumPy, not a backend op
            return layers.conv2d(out, np.ones((1, 1, 32, 4), np.float32), None, bk, 1)

    net = Glued().load(weights_dir)
    x = np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
    want = _eager(net, x, numba_bk)
    for _ in range(4):
        assert _same(net.forward(x, numba_bk), want)
    assert _states(net) == ["not replayable"]


def test_an_output_the_plan_did_not_make_is_not_replayed(numba_bk):
    result, plan = numba_bk.record(lambda x: x * 2, np.ones((1, 4, 4, 3), np.float32))
    assert plan is None and float(result[0, 0, 0, 0]) == 2.0
    result, plan = numba_bk.record(lambda x: x[:, 1:], np.ones((1, 4, 4, 3), np.float32))
    x = np.arange(48, dtype=np.float32).reshape(1, 4, 4, 3)
    assert _same(plan(x), x[:, 1:])  # a view of the input: the plan made that one


def test_buffers_whose_lives_do_not_overlap_are_shared(numba_bk):
    w = np.random.default_rng(2).standard_normal((3, 3, 8, 8)).astype(np.float32)

    def chain(x):
        y = numba_bk.conv2d(x, np.ones((1, 1, 3, 8), np.float32), 1, "same", act="relu")
        for _ in range(4):  # each output is read by the next conv only
            y = numba_bk.conv2d(y, w, 1, "same", act="relu")
        return y

    x = np.random.default_rng(3).standard_normal((1, 9, 9, 3)).astype(np.float32)
    want, plan = numba_bk.record(chain, x)
    assert isinstance(plan, ForwardPlan) and len(plan) == 5
    outs = {a.__array_interface__["data"][0] for _, args, _ in plan._steps for a in args[-1:]}
    assert len(outs) == 2  # the 5 outputs alternate between 2 buffers
    assert _same(plan(x), want)


def test_a_plan_calls_compiled_entry_points_not_dispatchers(numba_bk):
    """Each step calls its kernel's compiled code for the recorded arguments' types
    (numba's dispatcher would type every argument again on each call), and the replay
    still equals the pass (a batch laid out otherwise is copied into the input)."""
    from numba.core.dispatcher import Dispatcher

    def chain(x):
        y = numba_bk.conv2d(x, np.ones((3, 3, 3, 16), np.float32), 1, "same", act="relu")
        return numba_bk.conv2d(y, np.ones((1, 1, 16, 8), np.float32), 1, "same")

    x = np.random.default_rng(5).standard_normal((1, 12, 12, 3)).astype(np.float32)
    want, plan = numba_bk.record(chain, x)
    assert isinstance(plan, ForwardPlan) and len(plan) == 2
    assert not any(isinstance(fn, Dispatcher) for fn, _, _ in plan._steps)
    assert [fn.__name__ for fn, _, _ in plan._steps] == ["conv2d_few_channels", "conv2d"]
    assert _same(plan(x), want)
    strided = np.ascontiguousarray(np.repeat(x, 2, axis=2))[:, :, ::2]  # not C-contiguous
    assert _same(plan(strided), want)


def test_a_replay_sets_the_thread_count_for_parallel_kernels_only(weights_dir, numba_bk):
    """Small parallel ops are recorded with the one thread the eager pass gave them; the
    serial kernels (pad, add, mean, dense) with None, and the replay leaves the count as
    it is for them (no switch to one thread and back between two convs)."""
    from faceapi_np.backend.numba_threads import current_threads

    if current_threads() < 2:
        pytest.skip("one numba thread: every count is 1")
    net = faceapi_np.FaceRecognitionNet().load(weights_dir)
    x = np.random.default_rng(4).uniform(0, 255, (1, 150, 150, 3)).astype(np.float32)
    net.forward(x, numba_bk), net.forward(x, numba_bk)
    (plan,) = net._forward_plans.values()
    counts = {fn.__name__: n for fn, _, n in plan._steps}
    assert counts["pad"] is None and counts["add"] is None and counts["dense"] is None
    assert counts["conv3x3"] == current_threads() and counts["pool2x2"] == 1
    seen = []
    steps = [(lambda *a, fn=fn: (seen.append(current_threads()), fn(*a)), args, n)
             for fn, args, n in plan._steps]  # fmt: skip
    plan._steps = steps
    net.forward(x, numba_bk)
    assert [s for s, (_, _, n) in zip(seen, steps) if n is not None] == [
        n for _, _, n in steps if n is not None
    ]
    after_conv = [
        seen[i] for i in range(1, len(steps)) if steps[i][2] is None and steps[i - 1][2] != 1
    ]
    assert after_conv and set(after_conv) == {current_threads()}


def test_a_busy_plan_says_so_and_the_net_runs_eagerly(weights_dir, numba_bk):
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    x = np.random.default_rng(4).uniform(0, 255, (1, 112, 112, 3)).astype(np.float32)
    want = _eager(net, x, numba_bk)
    net.forward(x, numba_bk), net.forward(x, numba_bk)
    (plan,) = net._forward_plans.values()
    assert plan._lock.acquire()  # as another thread replaying it
    try:
        assert plan(x) is None
        assert _same(net.forward(x, numba_bk), want)
    finally:
        plan._lock.release()


def test_threads_replaying_one_net_get_their_own_results(weights_dir, numba_bk):
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    rng = np.random.default_rng(5)
    xs = [rng.uniform(0, 255, (1, 112, 112, 3)).astype(np.float32) for _ in range(4)]
    want = [_eager(net, x, numba_bk) for x in xs]
    net.forward(xs[0], numba_bk), net.forward(xs[0], numba_bk)
    bad = []

    def work(i):
        for _ in range(10):
            if not _same(net.forward(xs[i], numba_bk), want[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_plans_are_kept_per_shape_and_dropped_with_the_weights(weights_dir, numba_bk):
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    for n in range(1, PLANS_PER_NET + 2):
        x = np.zeros((n, 112, 112, 3), np.float32)
        net.forward(x, numba_bk), net.forward(x, numba_bk)
    assert len(net._forward_plans) == PLANS_PER_NET  # the first shape's was dropped
    assert all(key[2][0] > 1 for key in net._forward_plans)
    net.load(weights_dir)
    assert len(net._forward_plans) == 0


def test_tapped_passes_and_other_backends_run_eagerly(weights_dir, numba_bk):
    net = faceapi_np.FaceLandmark68TinyNet().load(weights_dir)
    x = np.zeros((1, 112, 112, 3), np.float32)
    for _ in range(3):
        net.activations(x, numba_bk)
        net.forward(x, get_backend("numpy"))
    assert len(net._forward_plans) == 0


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_glue_ops_equal_numpy(name):
    try:
        bk = get_backend(name)
    except BackendError as exc:
        pytest.skip(f"{name} backend: {exc}")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    rows, w, b = x.reshape(2, -1), rng.standard_normal((60, 7)).astype(np.float32), x[0, 0, 0]
    bias = b[:1].repeat(7)
    if name == "numpy":
        assert _same(bk.dense(rows, w, bias), rows @ w + bias)
        assert _same(bk.dense(rows, w), rows @ w)
    else:  # gemm.py's sums (in order, fused multiply-adds): within float32 rounding
        exact = rows.astype(np.float64) @ w.astype(np.float64)
        bound = 60 * 2.0**-23 * (np.abs(rows) @ np.abs(w)) + 1e-30
        assert np.all(np.abs(bk.dense(rows, w) - exact) <= bound)
        assert np.all(np.abs(bk.dense(rows, w, bias) - (exact + bias)) <= bound + 2.0**-23 * 40)
    assert _same(bk.spatial_mean(x), x.mean(axis=(1, 2)))
    big = rng.standard_normal((3, 7, 5, 19)).astype(np.float32)  # 35 pixels: /35 rounds
    assert _same(bk.spatial_mean(big), big.mean(axis=(1, 2)))
    for pads in (((0, 0), (0, 1), (0, 1), (0, 4)), ((1, 0), (2, 1), (0, 3), (5, 1))):
        assert _same(bk.pad(x, pads), np.pad(x, pads))
    assert _same(bk.add(x, -x[::-1], act="relu"), np.maximum(x - x[::-1], 0))
    assert _same(bk.add(x, x), x + x)
    assert _same(bk.add(x, x[:, :1], act="relu"), np.maximum(x + x[:, :1], 0))  # broadcast
    with pytest.raises(InputError, match="act must be None or 'relu'"):
        bk.add(x, x, act="relu6")
