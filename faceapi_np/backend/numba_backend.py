"""The numba backend: the same ops as the NumPy reference, as compiled CPU kernels.

Each op binds a kernel in ``faceapi_np.kernels.numba`` (see ``kernels/README.md``).
Depthwise convolutions, pooling and the pad-and-resize are single parallel kernels.
A convolution is planned as tiles of output rows: for each tile, im2col into a small
per-thread buffer that stays in cache, one BLAS product into the output, and the fused
epilogue (bias, scale, residual, activation) while the tile is still in cache (a 1x1
stride-1 conv skips the im2col). The backend's own threads take tiles from a shared
counter; BLAS runs single-threaded inside them (see :mod:`._blas`), so numba's, BLAS's
and our threads never compete for the cores. Kernels are compiled on first use and
cached on disk (``cache=True``). Results equal the NumPy backend's to float32 rounding
(tests hold them to 1e-5 relative).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading

import numpy as np

from . import _blas
from .base import Backend, KernelBackend

# numba's OpenMP threads spin after each parallel kernel, stealing the cores from the
# threads of the matrix products that follow (measured: convs 3x slower). Passive
# waiting must be set before the OpenMP runtime loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import numba_cache  # noqa: E402

numba_cache.install()  # before the kernels are defined: where their compiled code is kept
# Importing these imports numba: this module is only imported when the backend is asked for.
import numba  # noqa: E402

from ..kernels.numba import conv2d as conv_kernels  # noqa: E402
from ..kernels.numba import depthwise, epilogue, pool, resize  # noqa: E402

_EMPTY = np.zeros(0, np.float32)
_EMPTY2 = np.zeros((0, 0), np.float32)

#: A tile's im2col matrix is kept under this many floats (1 MiB: it stays in L2).
TILE_FLOATS = 256 * 1024
#: Below this many multiply-adds (~100 us on one core) a tile is not worth a hand-off
#: (1M instead, interleaved on 2 cores: FaceLandmark68Net at batch 1 4.0-5.7 ms min, not 3.4-3.9).
MIN_TILE_MACS = 1 << 22
#: Depthwise convs and pools below this many multiply-adds / reads run on one thread.
SMALL_OP = 1 << 20


@contextlib.contextmanager
def _numba_single_threaded():
    """numba kernels called from this thread run in it alone (the count is per thread)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _threads_for(work: int):
    """Run a parallel kernel of ``work`` element operations on one thread if it is small.

    Waking the second thread and waiting for it costs about what it saves below ~100 us
    of work, and on a loaded machine a sleeping worker can hold up the whole op.
    """
    return _numba_single_threaded() if work < SMALL_OP else contextlib.nullcontext()


class _Worker(threading.Thread):
    """A worker thread that runs one job at a time, handed over with two locks.

    A lock handoff costs ~10 us of CPU where a ``ThreadPoolExecutor`` submit + result
    cost ~100 us (measured on a (1, 7, 7, 256) 1x1 conv split in two: 204 us of CPU
    against 106 us unsplit), which decided how small a tile may be worth sharing.
    """

    def __init__(self):
        super().__init__(name="faceapi_np-conv", daemon=True)
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job, self.error = None, None

    def run(self):
        _blas.pin_this_thread()
        numba.set_num_threads(1)  # per thread: numba kernels run in this thread alone
        while True:
            self.go.acquire()
            try:
                self.job()
            except BaseException as exc:  # handed to the caller, raised there
                self.error = exc
            self.done.release()


class _Workers:
    """The calling thread plus ``n - 1`` worker threads, each with single-threaded BLAS."""

    def __init__(self):
        self._busy = threading.Lock()  # one caller at a time uses the workers
        self._worker_threads: list[_Worker] = []
        self._pid = os.getpid()
        self._local = threading.local()

    @property
    def count(self) -> int:
        """Threads a conv may use: numba's thread count, 1 when BLAS threads can't be pinned."""
        return numba.get_num_threads() if _blas.can_pin() else 1

    def buffer(self, size: int) -> np.ndarray:
        """This thread's scratch buffer of at least ``size`` floats (grown, never shrunk)."""
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.size < size:
            buf = self._local.buf = np.empty(size, np.float32)
        return buf

    def run(self, fn, ntiles: int) -> None:
        """``fn(i)`` for every tile ``i`` in ``range(ntiles)``, spread over the threads."""
        if not _blas.can_pin():  # BLAS threads as it does; so do the numba kernels
            for i in range(ntiles):
                fn(i)
            return
        n = min(self.count, ntiles)
        # another thread of the caller's already using the workers: do it all here
        if n <= 1 or not self._busy.acquire(blocking=False):
            with _blas.single_threaded(), _numba_single_threaded():
                for i in range(ntiles):
                    fn(i)
            return
        try:
            tiles = itertools.count()  # next() is atomic under the GIL: a shared work queue

            def work():
                for i in iter(tiles.__next__, None):
                    if i >= ntiles:
                        return
                    fn(i)

            workers = self._get_workers(n - 1)
            for h in workers:
                h.job = work
                h.go.release()
            errors = []
            try:
                with _blas.single_threaded(), _numba_single_threaded():
                    work()
            except BaseException as exc:  # wait for the workers all the same
                errors.append(exc)
            for h in workers:
                h.done.acquire()
                errors.append(h.error)
                h.job, h.error = None, None
            for e in errors:
                if e is not None:
                    raise e
        finally:
            self._busy.release()

    def _get_workers(self, n: int) -> list[_Worker]:
        if self._pid != os.getpid():  # a forked child has none of its parent's threads
            self._worker_threads, self._pid = [], os.getpid()
        while len(self._worker_threads) < n:
            h = _Worker()
            h.start()
            self._worker_threads.append(h)
        return self._worker_threads[:n]


class NumbaBackend(KernelBackend):
    """CPU backend running numba kernels and BLAS (float32, host memory)."""

    name = "numba"

    def __init__(self):
        super().__init__(np)
        self._workers = _Workers()

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
        """See :meth:`Backend.conv2d`: tiles of im2col + BLAS product + fused epilogue."""
        from .geometry import conv_geometry

        x, w, stride = self._f32(x), self._f32(w), int(stride)
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        pt, pl, ho, wo = conv_geometry(h, wd, kh, kw, stride, padding)
        k = kh * kw * cin
        wmat = w.reshape(k, cout)
        y = np.empty((n * ho * wo, cout), np.float32)
        bias = _EMPTY if bias is None else self._f32(bias)
        sw, sb = (_EMPTY, _EMPTY) if scale is None else (self._f32(scale[0]), self._f32(scale[1]))
        res = _EMPTY2 if residual is None else self._f32(residual).reshape(-1, cout)
        code = epilogue.ACT_CODES[act]
        pointwise = kh == kw == 1 and stride == 1 and (ho, wo) == (h, wd)
        xrows = x.reshape(-1, cin)

        # tiles of whole output rows: im2col small enough to stay in cache, enough work
        # per tile to pay for the hand-off, and enough tiles to keep every thread busy
        rows = n * ho
        per_row_macs = wo * k * cout
        by_cache = rows if pointwise else max(1, TILE_FLOATS // (wo * k))
        by_work = max(1, -(-MIN_TILE_MACS // per_row_macs))
        by_threads = max(1, -(-rows // self._workers.count))
        tile = min(max(by_cache, by_work), by_threads) if by_work < rows else rows
        ntiles = -(-rows // tile)

        def run_tile(i):
            r0, r1 = i * tile, min(rows, (i + 1) * tile)
            p0, p1 = r0 * wo, r1 * wo
            if pointwise:
                cols = xrows[p0:p1]
            else:
                cols = self._workers.buffer((p1 - p0) * k)[: (p1 - p0) * k].reshape(p1 - p0, k)
                conv_kernels.im2col_rows(x, kh, kw, stride, pt, pl, ho, wo, r0, r1, cols)
            out = y[p0:p1]
            np.matmul(cols, wmat, out=out)
            epilogue.epilogue(out, bias, sw, sb, res[p0:p1] if res.size else res, code)

        self._workers.run(run_tile, ntiles)
        return y.reshape(n, ho, wo, cout)

    def _depthwise(self, x, w, stride, pad_top, pad_left, ho, wo, bn, act, relu_input):
        mean, inv, offset = (_EMPTY, _EMPTY, _EMPTY) if bn is None else bn
        kernel = depthwise.depthwise3x3 if w.shape[:2] == (3, 3) else depthwise.depthwise_conv2d
        with _threads_for(x.shape[0] * ho * wo * x.shape[3] * w.shape[0] * w.shape[1]):
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

    def _pool(self, x, k, stride, pad_top, pad_left, ho, wo, is_max):
        if k == 2 and pad_top == pad_left == 0:
            # no window clipped when the last one ends inside the input (always true for max,
            # which the clamped reads of pool2x2 cannot change)
            inside = (ho - 1) * stride + 2 <= x.shape[1] and (wo - 1) * stride + 2 <= x.shape[2]
            if is_max or inside:
                with _threads_for(x.size):
                    return pool.pool2x2(x, stride, ho, wo, is_max)
        with _threads_for(x.size * k * k // (stride * stride)):
            return pool.pool2d(x, k, stride, pad_top, pad_left, ho, wo, is_max)

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
    bk.max_pool(x, 2, 2, "same")
    bk.resize_to_square(np.ones((2, 3, 3), np.uint8), 4, True)
    return bk
