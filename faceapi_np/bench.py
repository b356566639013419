"""``faceapi-np bench``: how fast each backend runs each net, and where the time goes.

For each backend x net x batch size: one first call timed on its own (it includes numba's
compilation or CuPy's kernel loading), one more warm-up, then ``--repeat`` timed runs of
the net's forward pass on a seeded random batch at face-api.js's input size; the table
shows the median and the spread (min..max). ``--ops`` adds the time per op type (conv,
depthwise conv, pooling, resize, and everything else). End-to-end figures follow:
the whole chain (detect -> landmarks -> descriptors, all faces) on a sample photo, the
frames per second of the Tiny Face Detector at 320 on a 640x360 video frame, and one
query against a gallery of 100,000 descriptors. ``--json FILE`` writes everything,
with the machine (CPU, cores, NumPy / numba versions, BLAS).

Speed is measured here, never in a test. Run it on a quiet machine and compare ratios
from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from .registry import NET_CLASSES

#: The nets whose forward pass at their default input size is their whole work (MTCNN
#: runs three nets over a pyramid, so it is timed through the chain, not here).
NETS = [cls.name for cls in NET_CLASSES if cls.single_pass]
#: face-api.js runs a detector on one image at a time; batches apply to the face nets.
DETECTORS = [cls.name for cls in NET_CLASSES if cls.role == "detector"]
#: Backend methods timed by --ops.
OPS = (
    "conv2d",
    "depthwise_conv2d",
    "separable_conv2d",
    "separable_chain",
    "max_pool",
    "avg_pool",
    "resize_to_square",
)
GALLERY_SIZE = 100_000


class OpTimer:
    """Wraps a backend's op methods to add up the time spent in each.

    An op that calls other ops (a separable conv run as its depthwise and 1x1 convs)
    counts as itself only, so the totals never count a moment twice. The nets run
    eagerly meanwhile: a replayed forward pass (``backend/forward_plan.py``) calls no ops.
    """

    def __init__(self, bk):
        self.bk, self.totals = bk, {}
        self._orig = {op: getattr(bk, op) for op in OPS}
        self._depth = 0
        self._planned = getattr(bk, "plan_forward", None)

    def __enter__(self):
        if self._planned is not None:
            self.bk.plan_forward = False
        for op, fn in self._orig.items():

            def timed(*a, _fn=fn, _op=op, **k):
                self._depth += 1
                t = time.perf_counter()
                try:
                    return _fn(*a, **k)
                finally:
                    self._depth -= 1
                    if not self._depth:
                        dt = time.perf_counter() - t
                        self.totals[_op] = self.totals.get(_op, 0.0) + dt

            setattr(self.bk, op, timed)
        return self

    def __exit__(self, *exc):
        for op in OPS:
            delattr(self.bk, op)  # back to the class's methods
        if self._planned is not None:
            self.bk.plan_forward = self._planned


def _time(fn, repeat: int) -> dict:
    """First call, one warm-up, then ``repeat`` timed calls; milliseconds."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1e3
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1e3)
    return {
        "first_ms": first,
        "median_ms": statistics.median(runs),
        "min_ms": min(runs),
        "max_ms": max(runs),
        "runs": repeat,
    }


def seeded_batch(batch: int, size: int) -> np.ndarray:
    """The input every row times: seeded uniform RGB values 0..255, (batch, size, size, 3)."""
    return np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)


def bench_net(bk, net_name: str, batch: int, repeat: int, ops: bool) -> dict:
    """Time one net's forward pass on one backend."""
    from .nets import get_net

    net = get_net(net_name)
    size = net.default_input_size
    x = bk.asarray(seeded_batch(batch, size))
    sync = getattr(bk, "synchronize", lambda: None)

    def run():
        net.forward(x, bk)
        sync()

    result = {
        "backend": bk.name,
        "net": net_name,
        "batch": batch,
        "input": size,
    } | _time(run, repeat)
    if ops:
        per_op = {}
        for _ in range(max(1, repeat // 2)):
            with OpTimer(bk) as timer:
                t = time.perf_counter()
                run()
                total = (time.perf_counter() - t) * 1e3
            for op, s in timer.totals.items():
                per_op[op] = per_op.get(op, 0.0) + s * 1e3
            per_op["other"] = per_op.get("other", 0.0) + total - sum(timer.totals.values()) * 1e3
        n = max(1, repeat // 2)
        result["ops_ms"] = {op: v / n for op, v in per_op.items()}
    return result


def bench_chain(bk, repeat: int) -> dict:
    """Detect -> landmarks -> descriptors on a sample photo (sample5.jpg at 710 px wide)."""
    from PIL import Image

    from . import samples
    from .api import detect_all_faces

    photo = Image.open(samples.sample_path("sample5.jpg")).convert("RGB")
    photo = np.asarray(
        photo.resize((710, round(photo.height * 710 / photo.width)), Image.Resampling.LANCZOS)
    )
    faces = []

    def run():
        faces[:] = (
            detect_all_faces(photo, backend=bk.name)
            .with_face_landmarks(backend=bk.name)
            .with_face_descriptors(backend=bk.name)
        )

    out = {
        "backend": bk.name,
        "what": "chain",
        "image": f"sample5.jpg {photo.shape[1]}x{photo.shape[0]}",
    }
    out |= _time(run, repeat)
    out["faces"] = len(faces)
    return out


def bench_video(bk, repeat: int, size: int = 320) -> dict:
    """Frames per second of the Tiny Face Detector at ``size`` on a 640x360 video frame.

    The frame is sample5.jpg scaled to 640 px wide and cut to 16:9; each call is one
    :func:`~faceapi_np.detect_video` step (detection and post-processing, no decoding).
    """
    from PIL import Image

    from . import samples
    from .api import detect_all_faces
    from .tiny_face_detector import TinyFaceDetectorOptions

    photo = Image.open(samples.sample_path("sample5.jpg")).convert("RGB")
    photo = photo.resize((640, round(photo.height * 640 / photo.width)), Image.Resampling.LANCZOS)
    frame = np.ascontiguousarray(np.asarray(photo)[:360])
    options = TinyFaceDetectorOptions(input_size=size)
    out = {"backend": bk.name, "what": "video", "net": "tiny", "input": size, "frame": "640x360"}
    out |= _time(lambda: detect_all_faces(frame, options, backend=bk.name), repeat)
    out["fps"] = 1e3 / out["median_ms"]
    return out


def bench_gallery(repeat: int) -> dict:
    """One query against 100,000 descriptors (1,000 labels x 100) with FaceMatcher."""
    from .matching import FaceMatcher, LabeledFaceDescriptors

    rng = np.random.default_rng(0)
    refs = rng.normal(0, 0.1, (GALLERY_SIZE, 128)).astype(np.float32)
    matcher = FaceMatcher(
        [LabeledFaceDescriptors(f"id{i}", refs[i * 100 : (i + 1) * 100]) for i in range(1000)]
    )
    query = rng.normal(0, 0.1, 128).astype(np.float32)
    return {"what": "gallery", "descriptors": GALLERY_SIZE} | _time(
        lambda: matcher.find_best_match(query), repeat
    )


def machine_info() -> dict:
    """CPU, cores and library versions, for the JSON report."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(
                (l.split(":", 1)[1].strip() for l in f if l.startswith("model name")),
                "",
            )
    except OSError:
        info["cpu"] = platform.processor()
    try:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    except ImportError:
        info["numba"] = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict form
        info["blas"] = "unknown"
    return info


def _print_table(rows: list[dict], ops: bool) -> None:
    ratio = any("vs_peer" in r for r in rows)  # with --peers: median / fastest peer's
    head = f"{'backend':<11} {'net':<15} {'batch':>5} {'input':>5} {'median ms':>10} {'min..max ms':>17} {'first ms':>9}"
    head += f" {'vs peer':>8}" if ratio else ""
    print(head)
    print("-" * len(head))
    for r in rows:
        spread = f"{r['min_ms']:.1f}..{r['max_ms']:.1f}"
        vs = f" {r['vs_peer']:>7.2f}x" if "vs_peer" in r else ""
        print(
            f"{r['backend']:<11} {r['net']:<15} {r['batch']:>5} {r['input']:>5} {r['median_ms']:>10.2f} "
            f"{spread:>17} {r['first_ms']:>9.0f}{vs}"
        )
        if ops and "ops_ms" in r:
            parts = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(r["ops_ms"].items(), key=lambda kv: -kv[1])
            )
            print(f"{'':<8}   ops ms: {parts}")


def _names(choices):
    """An argparse type: a comma-separated list of names, each one of ``choices``."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {unknown or 'empty list'}; choose from {','.join(choices)}"
            )
        return names

    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``faceapi-np bench``."""
    from .backend import BACKENDS
    from .onnx_export.peers import PEERS

    p.add_argument(
        "--backends",
        type=_names(list(BACKENDS)),
        default=list(BACKENDS),
        help=f"comma-separated, from {','.join(BACKENDS)} (default: all)",
    )
    p.add_argument(
        "--nets",
        type=_names(NETS),
        default=list(NETS),
        help=f"comma-separated, from {','.join(NETS)} (default: all)",
    )
    p.add_argument("--batch", default="1,8", help="batch sizes for the face nets (detectors: 1)")
    p.add_argument("--repeat", type=int, default=10, help="timed runs after warm-up (10)")
    p.add_argument(
        "--peers",
        type=_names(list(PEERS)),
        default=[],
        help=f"also time these runtimes on the nets' exported ONNX graphs: {','.join(PEERS)}",
    )
    p.add_argument("--ops", action="store_true", help="also time each op type")
    p.add_argument(
        "--no-chain", action="store_true", help="skip the whole-chain and gallery figures"
    )
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument(
        "--startup",
        action="store_true",
        help="instead: whole-process times of a one-photo detect, cold and warm, by phase",
    )
    p.add_argument("--no-cold", action="store_true", help="--startup without the compiling runs")


def main(argv=None) -> int:
    """``python -m faceapi_np.bench``: the same as ``faceapi-np bench``."""
    p = argparse.ArgumentParser(prog="faceapi-np bench", description="Time every net.")
    add_arguments(p)
    return run(p.parse_args(argv))


def run(args) -> int:
    """Time the nets on the backends, print the table, and write JSON if asked."""
    if args.startup:
        from .bench_startup import run_startup

        return run_startup(args, machine_info())
    from .backend import get_backend
    from .errors import BackendError

    nets = args.nets
    batches = [int(b) for b in args.batch.split(",")]
    rows, extra, skipped = [], [], {}
    backends = []
    for name in args.backends:
        try:
            backends.append(get_backend(name))
        except BackendError as exc:
            skipped[name] = str(exc)
            print(f"skipping backend {name}: {exc}", file=sys.stderr)
    jobs = [(net, batch) for net in nets for batch in ([1] if net in DETECTORS else batches)]
    for bk in backends:
        for net, batch in jobs:
            rows.append(bench_net(bk, net, batch, args.repeat, args.ops))
    if args.peers:  # onnxruntime / OpenVINO on the exported graphs: see onnx_export/peers.py
        from .nets import get_net
        from .onnx_export import peers

        names, peers_skipped = peers.available_peers(args.peers)
        skipped |= peers_skipped
        for peer in names:
            for net, batch in jobs:
                size = get_net(net).default_input_size
                x, timer = seeded_batch(batch, size), lambda fn: _time(fn, args.repeat)
                rows.append(peers.bench_peer(peer, net, size, batch, x, timer))
        peers.add_peer_ratios(rows)
    info = machine_info()
    print(
        f"{info.get('cpu')}, {info['cores']} cores, numpy {info['numpy']}, numba {info.get('numba')}, "
        f"BLAS {info['blas']}; {args.repeat} timed runs after warm-up\n"
    )
    _print_table(rows, args.ops)
    if not args.no_chain:
        print()
        for bk in backends:
            c = bench_chain(bk, max(3, args.repeat // 2))
            extra.append(c)
            print(
                f"chain on {c['image']} ({c['faces']} faces), {bk.name}: median {c['median_ms']:.1f} ms "
                f"(min {c['min_ms']:.1f}, first {c['first_ms']:.0f})"
            )
            v = bench_video(bk, args.repeat)
            extra.append(v)
            print(
                f"video, tiny at {v['input']} on a {v['frame']} frame, {bk.name}: "
                f"{v['fps']:.1f} frames/s (median {v['median_ms']:.1f} ms)"
            )
        g = bench_gallery(args.repeat)
        extra.append(g)
        print(
            f"gallery query, 1 against {GALLERY_SIZE:,} descriptors: median {g['median_ms']:.1f} ms"
        )
    if args.json:
        from .fileio import write_text

        report = {"machine": info, "nets": rows, "end_to_end": extra, "skipped": skipped}
        write_text(args.json, json.dumps(report, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
