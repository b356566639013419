"""Peer runtimes for ``faceapi-np bench --peers``: onnxruntime and OpenVINO on the exported graphs.

Each peer runs the graph :func:`~.export.build_model` makes of a net (fixed batch, the
bench's input size) on the CPU with :data:`THREADS` intra-op threads, OpenVINO with
``INFERENCE_PRECISION_HINT`` f32 so that neither runtime computes in lower precision
than the backends do. Timing is ``bench``'s own (one first call, which here includes
building the session, one warm-up, then the median of ``--repeat`` runs) on the same
seeded batch, so peer rows sit in the same table as the backends' rows. Each row gets
``vs_peer``: its median over the fastest peer's median for that net and batch.
"""

from __future__ import annotations

import importlib
import sys
import time

import numpy as np

#: Peer name -> (module to import, how to install it with the onnx package the export needs).
PEERS = {
    "onnxruntime": ("onnxruntime", "pip install 'faceapi-np[onnx]'"),
    "openvino": ("openvino", "pip install 'faceapi-np[onnx]' openvino"),
}
#: Intra-op threads of every peer (the backends' kernels run on the machine's cores;
#: pin NUMBA_NUM_THREADS=2 as well for a like-for-like row).
THREADS = 2


def peer_version(peer: str) -> str:
    """The installed version of ``peer``'s runtime."""
    return getattr(importlib.import_module(PEERS[peer][0]), "__version__", "unknown")


def make_runner(peer: str, model_bytes: bytes, threads: int = THREADS):
    """A function ``run(batch) -> list of output arrays`` for a serialized ONNX model.

    Parameters
    ----------
    peer : ``"onnxruntime"`` or ``"openvino"``
    model_bytes : bytes
        ``ModelProto.SerializeToString()``; its input is called ``input``.
    threads : int
        Intra-op threads.
    """
    if peer == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
        return lambda x: sess.run(None, {"input": x})
    if peer == "openvino":
        import openvino as ov

        core = ov.Core()
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
        }
        compiled = core.compile_model(core.read_model(model_bytes), "CPU", config)
        request = compiled.create_infer_request()

        def run(x):
            request.infer({0: x})
            return [request.get_output_tensor(i).data for i in range(len(compiled.outputs))]

        return run
    raise ValueError(f"unknown peer {peer!r}; choose from {sorted(PEERS)}")


def available_peers(names) -> tuple[list[str], dict[str, str]]:
    """The peers of ``names`` that can run here, and ``{name: why not}`` for the others.

    Each one skipped is announced on stderr in one line saying how to install it.
    """
    ok, skipped = [], {}
    for name in names:
        if name not in PEERS:
            skipped[name] = f"unknown peer; choose from {', '.join(PEERS)}"
        else:
            try:
                importlib.import_module("onnx")
                importlib.import_module(PEERS[name][0])
                ok.append(name)
                continue
            except ImportError as exc:
                skipped[name] = f"{exc.name} is not installed: {PEERS[name][1]}"
        print(f"skipping peer {name}: {skipped[name]}", file=sys.stderr)
    return ok, skipped


def bench_peer(peer: str, net_name: str, size: int, batch: int, x, timer) -> dict:
    """Time ``peer`` on the exported graph of ``net_name`` with batch ``x``; a bench row.

    ``timer(fn)`` is the bench's own (first call, warm-up, median), so peer rows are timed
    exactly as the backends' rows are.
    """
    from .export import build_model

    t = time.perf_counter()
    model_bytes = build_model(net_name, input_size=size, batch=batch).SerializeToString()
    export_ms = (time.perf_counter() - t) * 1e3
    state = {}

    def run():
        if "run" not in state:  # the first call builds the session, as numba compiles
            state["run"] = make_runner(peer, model_bytes)
        state["run"](x)

    row = {"backend": peer, "net": net_name, "batch": batch, "input": size}
    return row | timer(run) | {"export_ms": export_ms, "version": peer_version(peer)}


def add_peer_ratios(rows: list[dict]) -> None:
    """Set ``vs_peer`` on every row: median over the fastest peer's median (same net, batch)."""
    best: dict[tuple, float] = {}
    for r in rows:
        if r["backend"] in PEERS:
            key = (r["net"], r["batch"])
            best[key] = min(best.get(key, np.inf), r["median_ms"])
    for r in rows:
        key = (r["net"], r["batch"])
        if key in best:
            r["vs_peer"] = r["median_ms"] / best[key]
