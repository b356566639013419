"""Compile every kernel ahead of time, so that no later process waits for a compiler.

The numba backend's kernels are compiled the first time a process needs them and cached
on disk (:mod:`faceapi_np.backend.numba_cache`); that first time takes tens of seconds
on a small machine. :func:`warmup` (``faceapi-np warmup``) does it once, ahead, for a
container build, a CI job or a service's start: it compiles every kernel for every
argument type the nets pass (:func:`compile_kernels`), records that in the cache's
marker, then runs every net once on tiny inputs at batch 1 and 2 to check that nothing
was left to compile. Afterwards a fresh process loads the kernels from the cache.

CuPy's CUDA kernels are compiled on first use too and cached by CuPy
(``~/.cupy/kernel_cache``); ``warmup(backends=["numba", "cupy"])`` fills that cache the same
way on a GPU machine.
"""

from __future__ import annotations

import time

import numpy as np

from .backend.kernel_warmup import compile_kernels

__all__ = ["compile_kernels", "run_nets", "warmup"]

#: The face nets (registry role "face") run at batch 1 and 2, with the method the chain
#: calls on each.
FACE_NETS = {
    "landmarks": "detect_landmarks",
    "landmarks_tiny": "detect_landmarks",
    "recognition": "compute_face_descriptors",
    "expression": "predict_expressions",
    "age_gender": "predict_age_and_gender",
}
#: Batch sizes the face nets are run at (all crops of an image go through as one batch).
BATCHES = (1, 2)


def _kernel_counts() -> tuple[int, int]:
    """(signatures loaded from the cache, signatures compiled) by the numba kernels so far."""
    from .backend import numba_cache

    hits = misses = 0
    for kernel in numba_cache.kernels():
        hits += sum(kernel._cache_hits.values())
        misses += sum(kernel._cache_misses.values())
    return hits, misses


def run_nets(bk) -> list[str]:
    """Every net once on tiny inputs (detectors on a small image, face nets at batch 1
    and 2) on backend ``bk``; returns the nets run. Loads their weights."""
    import dataclasses

    from .api import detect_all_faces
    from .nets import get_net
    from .registry import OPTIONS_CLASSES

    image = np.random.default_rng(0).integers(0, 256, (72, 56, 3), dtype=np.uint8)
    image.flags.writeable = False  # as a decoded photo is
    ran = []
    for cls in OPTIONS_CLASSES:  # every detector, at a small input size where it has one
        fields = {f.name for f in dataclasses.fields(cls)}
        options = cls(input_size=128) if "input_size" in fields else cls()
        detect_all_faces(image, options, backend=bk.name)
        ran.append(cls.detector)
    crop = np.ascontiguousarray(image[8:48, 8:48])
    for name, method in FACE_NETS.items():
        net = get_net(name)
        for batch in BATCHES:
            getattr(net, method)([crop] * batch, bk)
        ran.append(name)
    return ran


def warmup(backends=("numba",), nets: bool = True) -> dict:
    """Compile every kernel of ``backends`` now, so later processes start fast.

    Parameters
    ----------
    backends : sequence of str
        Backends to warm (default numba; add ``"cupy"`` on a GPU machine). A backend that
        cannot run here is reported, not raised.
    nets : bool
        Also run every net once on tiny inputs at batch 1 and 2, which checks that no
        kernel is left to compile; needs the weights and loads every net (skipped, with
        the reason, when the weights are missing).

    Returns
    -------
    dict
        Per backend: ``seconds``, and for numba ``compiled`` (signatures compiled now),
        ``loaded`` (signatures found in the cache), ``cache`` (the folder) and
        ``nets_compiled`` (signatures the net runs still had to compile: 0 when
        :func:`compile_kernels` covers the nets); ``error`` for a backend that cannot run.
    """
    from .backend import get_backend
    from .errors import BackendError, FaceApiError

    report = {}
    for name in backends:
        start = time.perf_counter()
        try:
            bk = get_backend(name)  # numba: compiles here when the cache has nothing yet
        except BackendError as exc:
            report[name] = {"error": str(exc)}
            continue
        compile_kernels(bk)
        entry = {}
        if name == "numba":
            from .backend import numba_cache

            hits, misses = _kernel_counts()
            entry |= {"compiled": misses, "loaded": hits, "cache": str(numba_cache.compiled_dir())}
            if misses or numba_cache.compile_needed():
                numba_cache.mark_compiled(time.perf_counter() - start)
        if nets:
            try:
                entry["nets"] = run_nets(bk)
            except FaceApiError as exc:  # no weights here: the kernels are compiled anyway
                entry["nets_skipped"] = str(exc)
            if name == "numba":
                entry["nets_compiled"] = _kernel_counts()[1] - entry["compiled"]
        entry["seconds"] = round(time.perf_counter() - start, 2)
        report[name] = entry
    return report
