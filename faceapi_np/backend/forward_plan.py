"""Planned execution: a forward pass recorded once as its kernel launches, then replayed.

Why: at batch 1 a face net's layers take 20-150 us each, and the Python around each
kernel (the layer function, the tap, the backend op finding its kernel plan, packed
filter, tiles and scratch buffers, the output's allocation) costs 6-10 us a layer on
top. A net whose kernels, for one input shape, are the same calls on the same buffers
every time need not pay it: a :class:`ForwardPlan` keeps the calls and their
arguments, and a pass is the loop over them (~1.5 us a kernel, numba's own dispatch).

How (``record``): the net's forward pass runs once as usual on a copy of its input in a
buffer the plan owns, with a :class:`Recording` set on the calling thread. Every launch
of the backend (``PlannedLaunches._launch``) is appended as a step, ``(function, its
arguments, numba's thread count)``, and its output buffer is noted as made by the plan;
scratch buffers come from the recording, so the plan owns them too. An array a step
reads must be the plan's input or (a view of) an earlier step's output: one made by
code that launched nothing (NumPy in a layer) would not be made again by a replay, so
it ends the recording, as does an output the plan did not make, and the net keeps
running as before. The plan is then replayed once on the same input and kept only if
it gives the recorded pass's outputs bit for bit. The small ops between the convs (a
dense layer, a mean, a pad, an add) are kernels too (``kernels/numba/small_ops.py``):
as NumPy calls they were steps of their own, but NumPy's code paths, cold after a
conv, cost 10-50x their warm time in a replay.

A replay reads the batch where it lies when it is laid out as the recorded input
(float32, C-contiguous, writeable, aligned: the steps that read the input are given
the batch instead) and copies it into the input buffer otherwise, calls the steps in
order and returns copies of the outputs (the buffers are reused by the next replay).
Reading the batch in place against copying it, in one process alternating, medians of 8
rounds (ms): FaceLandmark68TinyNet 0.564 -> 0.532 at batch 1 and 3.53 -> 3.32 at batch
8, FaceLandmark68Net at batch 8 5.98 -> 5.83, SSD 35.5 -> 35.2, Tiny Face Detector 3.59
-> 3.54, the recognition net at batch 8 the same (19.1). One thread replays a
plan at a time; another that finds it busy runs the net eagerly. Outputs whose lives do
not overlap share a buffer (``Recording.shared_buffers``), as the eager pass reuses the
memory it frees, and every step uses the same scratch buffer of each kind.

Measured on the 2-core machine, in one process, the eager pass and the replay
alternating (10 rounds of medians, ms): FaceLandmark68Net at batch 1 1.057 -> 0.881 and
1.413 -> 1.241 (two runs), FaceLandmark68TinyNet 0.604 -> 0.526 and 0.605 -> 0.523,
FaceRecognitionNet 4.79 -> 4.31 and 4.25 -> 3.87, Tiny Face Detector 4.49 -> 4.33, SSD
MobileNetV1's backbone and heads 43.3 -> 42.7 (its box decoding NumPy then). At
batch 8 the Python is a small part: FaceLandmark68Net 0.96-1.00x, FaceRecognitionNet
0.97-0.98x, FaceLandmark68TinyNet 1.00-1.04x (within this machine's noise). Before the
scratch buffers were taken at their grown sizes, each step that needed a larger one got
its own, and FaceLandmark68TinyNet at batch 8 lost 4-7%.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger(__name__)


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself, or the base of a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class Recording:
    """The kernel launches of one forward pass, as they happen (see the module)."""

    def __init__(self, x: np.ndarray, scratch: dict):
        self.x = x
        self.steps: list[tuple] = []
        self.scratch = scratch  # the plan's scratch buffers, by slot
        self.problem: str | None = None  # why the pass cannot be replayed, if it cannot
        self.writes: list[np.ndarray] = []  # the root array each step writes
        self._made = {id(x): x}  # root arrays the plan makes (kept alive: ids stay unique)

    def made(self, a) -> bool:
        """Whether ``a`` is the plan's input or a step's output (or a view of one)."""
        return isinstance(a, np.ndarray) and id(_root(a)) in self._made

    def add(self, fn, args: tuple, reads, out: np.ndarray, threads: int | None) -> None:
        """Append the launch ``fn(*args)``, which reads ``reads`` and writes ``out``, run
        with ``threads`` kernel threads (None: any count)."""
        for a in reads:
            if a is not None and not self.made(a) and self.problem is None:
                name = getattr(fn, "__name__", repr(fn))
                self.problem = f"{name} reads an array that no recorded launch made"
        root = _root(out)
        if id(root) in self._made and self.problem is None:
            self.problem = "a launch writes into an array made before it"
        self.steps.append((fn, args, threads))
        self.writes.append(root)
        self._made[id(root)] = root

    def shared_buffers(self, outputs):
        """The steps and ``outputs`` rewritten so that outputs whose lives do not overlap
        share one buffer (as the eager pass's freed memory is reused): each step's
        output takes a free buffer of its size, one no later step reads; the input and
        the pass's outputs keep theirs."""
        last = {}  # id(root) -> the last step that touches it
        for i, (_, args, _) in enumerate(self.steps):
            for a in args:
                if isinstance(a, np.ndarray) and id(_root(a)) in self._made:
                    last[id(_root(a))] = i
        for a in (self.x, *outputs):
            last[id(_root(a))] = len(self.steps)  # never given to another
        home, free, ends = {}, {}, {}  # root id -> buffer; free buffers by size; step -> roots
        for i, root in enumerate(self.writes):
            for r in ends.pop(i - 1, ()):  # roots last touched by the step before
                free.setdefault((home[id(r)].nbytes, home[id(r)].shape), []).append(home[id(r)])
            spare = free.get((root.nbytes, root.shape))
            home[id(root)] = spare.pop() if spare else root
            ends.setdefault(last.get(id(root), i), []).append(root)

        def moved(a):
            if not isinstance(a, np.ndarray) or id(_root(a)) not in home:
                return a
            root, buf = _root(a), home[id(_root(a))]
            if buf is root:
                return a
            offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
            return np.ndarray(a.shape, a.dtype, buf, offset, a.strides)

        steps = [(fn, tuple(moved(a) for a in args), n) for fn, args, n in self.steps]
        return steps, tuple(moved(o) for o in outputs)


class ForwardPlan:
    """A recorded forward pass: ``plan(batch)`` replays its launches on ``batch``.

    Returns the outputs (an array, or a tuple as the net returns) as fresh arrays, or
    None when another thread is replaying this plan (run the net eagerly then).
    ``threads`` is the backend's (get, set) of its kernel thread count.
    """

    def __init__(self, x, steps, outputs, as_tuple: bool, threads):
        self.x = x
        self._steps = steps
        self._outputs = outputs
        self._as_tuple = as_tuple
        self._get_threads, self._set_threads = threads
        self._lock = threading.Lock()
        # the steps that read the input: (index, each argument's offset into the input
        # in bytes, or None where it is not a view of it), so that a replay can read a
        # float32 C-contiguous batch where it lies instead of copying it into ``x``
        self._reads_x = []
        for i, (_, args, _) in enumerate(steps):
            at = tuple(_offset_in(a, x) for a in args)
            if any(o is not None for o in at):
                self._reads_x.append((i, at))
        self._direct = not any(_root(o) is x for o in outputs)

    def __len__(self) -> int:
        """The number of launches a replay makes."""
        return len(self._steps)

    def _on(self, batch):
        """The steps reading ``batch`` where the recording read ``x``, or None where
        ``batch`` is not laid out as ``x`` (it is then copied into ``x``)."""
        x = self.x
        if not (self._direct and isinstance(batch, np.ndarray)):
            return None
        laid_out = batch.dtype == x.dtype and batch.shape == x.shape
        # read-only or unaligned arrays are other types to numba: a compile, not a replay
        flags = batch.flags
        if not (laid_out and flags.c_contiguous and flags.writeable and flags.aligned):
            return None
        steps = list(self._steps)
        for i, offsets in self._reads_x:
            fn, args, n = steps[i]
            args = tuple(
                a if o is None else np.ndarray(a.shape, a.dtype, batch, o, a.strides)
                for a, o in zip(args, offsets)
            )
            steps[i] = (fn, args, n)
        return steps

    def __call__(self, batch):
        if not self._lock.acquire(blocking=False):
            return None
        try:
            steps = self._on(batch)
            if steps is None:
                np.copyto(self.x, batch)
                steps = self._steps
            start = now = self._get_threads()
            try:
                for fn, args, n in steps:
                    if n is not None and n != now:  # a small op the eager pass ran on one thread
                        self._set_threads(n)
                        now = n
                    fn(*args)
            finally:
                if now != start:
                    self._set_threads(start)
            out = tuple(o.copy() for o in self._outputs)
        finally:
            self._lock.release()
        return out if self._as_tuple else out[0]


def _offset_in(a, x: np.ndarray):
    """``a``'s offset in bytes into ``x``'s memory where ``a`` is ``x`` or a view of it,
    else None."""
    if not isinstance(a, np.ndarray) or _root(a) is not _root(x):
        return None
    return a.__array_interface__["data"][0] - x.__array_interface__["data"][0]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class PlannedLaunches:
    """Mixin for a host kernel backend: launches that a :class:`Recording` can capture.

    The backend calls every kernel through :meth:`_launch` with its output buffer, takes
    its scratch buffers from :meth:`_scratch`, and defines ``_local`` (a
    ``threading.local``), ``_threads_now()`` and ``_set_threads(n)``.
    """

    def _launch(self, fn, args: tuple, reads, out: np.ndarray) -> np.ndarray:
        """``fn(*args)``, which writes ``out`` (returned); recorded while recording."""
        rec = getattr(self._local, "recording", None)
        if rec is not None:
            # a serial kernel runs on the calling thread, whatever the count: None, so that
            # the replay does not switch the count for it
            rec.add(fn, args, reads, out, self._threads_now() if self._threaded(fn) else None)
        fn(*args)
        return out

    @staticmethod
    def _threaded(fn) -> bool:
        """Whether kernel ``fn`` runs on the backend's threads (its count matters)."""
        return True

    @staticmethod
    def _compiled(fn, args: tuple):
        """What a plan calls for the launch ``fn(*args)``: ``fn`` itself here; a backend
        may give a quicker way into the same compiled code for these arguments."""
        return fn

    def _scratch(self, threads: int, size: int, slot: int = 0) -> np.ndarray:
        """This calling thread's (threads, >= size) scratch buffers number ``slot``: one row
        per kernel thread, so that they never share one; a recording's own while it
        records. Grown, never shrunk, and kept with rows for the thread count (ops
        alternate between 1 and 2 threads)."""
        rec = getattr(self._local, "recording", None)
        if rec is not None:
            bufs = rec.scratch
        else:
            bufs = getattr(self._local, "scratch", None)
            if bufs is None:
                bufs = self._local.scratch = {}
        buf = bufs.get(slot)
        if buf is None or buf.shape[0] < threads or buf.shape[1] < size:
            rows = max(threads, self._threads_now(), 0 if buf is None else buf.shape[0])
            cols = max(size, 1, 0 if buf is None else buf.shape[1])
            buf = bufs[slot] = np.empty((rows, cols), np.float32)
        return buf[:threads]

    def record(self, forward, batch):
        """Run ``forward(x)`` on a copy ``x`` of ``batch``, recording it as a plan.

        Returns ``(outputs, plan)``: the pass's outputs, and a :class:`ForwardPlan` that
        replays it, or None where the pass cannot be replayed (see the module).
        """
        x = np.array(batch, dtype=np.float32, order="C", copy=True)
        # scratch buffers of the sizes the calling thread's have grown to, so that every
        # step uses the same one of each (in cache), as the eager pass does
        grown = getattr(self._local, "scratch", {})
        rec = self._local.recording = Recording(x, {k: np.empty_like(v) for k, v in grown.items()})
        try:
            result = forward(x)
        finally:
            self._local.recording = None
        as_tuple = isinstance(result, tuple)
        outputs = result if as_tuple else (result,)
        problem = rec.problem
        if problem is None and not all(rec.made(o) for o in outputs):
            problem = "an output that no recorded launch made"
        if problem is not None:
            log.debug("forward pass not planned: %s", problem)
            return result, None
        expected = tuple(o.copy() for o in outputs)  # a replay overwrites the outputs
        steps, outputs = rec.shared_buffers(outputs)
        steps = [(self._compiled(fn, args), args, n) for fn, args, n in steps]
        plan = ForwardPlan(x, steps, outputs, as_tuple, (self._threads_now, self._set_threads))
        again = plan(batch)
        again = again if as_tuple else (again,)
        if not all(_same_bits(a, b) for a, b in zip(again, expected)):
            log.debug("forward pass not planned: its replay differs from the pass")
            plan = None
        return (expected if as_tuple else expected[0]), plan
