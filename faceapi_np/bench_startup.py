"""``faceapi-np bench --startup``: the time from process start to the first result.

Each figure is a whole process, timed from outside, of the command a user types:
``faceapi-np detect --landmarks --descriptors --json PHOTO`` (run as ``python -m
faceapi_np``):

* *cold*: the numba backend in an empty kernel cache, so the run compiles;
* *warm-up*: ``faceapi_np.warmup()`` in another empty cache, then the first run after it;
* *warm*: each backend (and ``auto``) with the kernels cached, median of ``--repeat``;
* the same on several photos in one call, where starting numba pays off.

A second process per backend runs the same work with a clock at each phase, splitting
the warm time into interpreter start, imports, backend (numba: importing it and loading
or compiling the kernels), weights, decoding, inference and output.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: The phases the timed child process reports, in order.
PHASES = ("imports", "backend", "weights", "decode", "inference", "output")

#: Runs the one-photo chain with a clock between phases; argv: backend, photo.
_PHASE_CHILD = """
import time
t = [time.perf_counter()]
import json, sys
import faceapi_np as fa
from faceapi_np.backend import expected_work
from faceapi_np.nets import get_net
t.append(time.perf_counter())
name, photo = sys.argv[1], sys.argv[2]
with expected_work(1, "ssd"):
    bk = fa.set_backend(name)  # 'auto' resolves here, for the work announced
    t.append(time.perf_counter())
    for net in ("ssd", "landmarks", "recognition"):
        get_net(net)
    t.append(time.perf_counter())
    image = fa.load_image(photo)
    t.append(time.perf_counter())
    faces = fa.detect_all_faces(image).with_face_landmarks().with_face_descriptors()
    t.append(time.perf_counter())
    text = json.dumps(faces.as_dicts())
    t.append(time.perf_counter())
print(json.dumps({"backend": bk.name, "faces": len(faces), "s": [b - a for a, b in zip(t, t[1:])]}))
"""


def _run(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, all threads) of one whole process, its stdout."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... failed: {proc.stderr.strip()[-500:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, proc.stdout


def _detect(photos: list[str], backend: str | None) -> list[str]:
    argv = [sys.executable, "-m", "faceapi_np", "detect", "--landmarks", "--descriptors"]
    return argv + ["--json", *photos] + (["--backend", backend] if backend else [])


def _median(argv, repeat: int, env=None) -> dict:
    runs = [_run(argv, env) for _ in range(repeat)]
    return {
        "median_s": statistics.median(r[0] for r in runs),
        "min_s": min(r[0] for r in runs),
        "cpu_s": statistics.median(r[1] for r in runs),
        "runs": repeat,
    }


def _once(argv, env=None) -> dict:
    wall, cpu, _ = _run(argv, env)
    return {"s": wall, "cpu_s": cpu}


def bench_startup(photos: list[str], repeat: int = 3, cold: bool = True) -> dict:
    """Whole-process times of the one-photo command, cold and warm; see the module doc.

    ``photos[0]`` is the one photo; all of ``photos`` make the several-photo figure.
    """
    from .warmup import warmup

    env = dict(os.environ)
    out = {"photo": photos[0], "photos": len(photos), "repeat": repeat}
    out["python"] = _median([sys.executable, "-c", "pass"], repeat)
    if cold:
        with tempfile.TemporaryDirectory() as cache:
            fresh = env | {"FACEAPI_NP_CACHE": cache}
            out["cold_numba"] = _once(_detect(photos[:1], "numba"), fresh)
        with tempfile.TemporaryDirectory() as cache:
            fresh = env | {"FACEAPI_NP_CACHE": cache}
            code = "from faceapi_np.warmup import warmup; warmup()"
            out["warmup"] = _once([sys.executable, "-c", code], fresh)
            out["first_after_warmup"] = _once(_detect(photos[:1], "numba"), fresh)
    warmup()  # the user's own cache: the warm figures below load, never compile
    out["warm"] = {}
    for backend in ("numpy", "numba", None):
        label = backend or "auto"
        row = _median(_detect(photos[:1], backend), repeat)
        phases = []
        for _ in range(repeat):
            child = [sys.executable, "-c", _PHASE_CHILD, label, photos[0]]
            phases.append(json.loads(_run(child)[2]))
        row["ran_on"] = phases[0]["backend"]
        row["phases_s"] = {
            p: statistics.median(r["s"][i] for r in phases) for i, p in enumerate(PHASES)
        }
        row["all_photos"] = _median(_detect(photos, backend), repeat)
        out["warm"][label] = row
    return out


def print_startup(r: dict) -> None:
    """The table of :func:`bench_startup`'s figures (wall seconds, CPU seconds after '/')."""
    print(
        f"startup: faceapi-np detect --landmarks --descriptors --json, whole process, "
        f"wall / CPU s (median of {r['repeat']}); the interpreter alone {r['python']['median_s']:.2f}"
    )
    for key, text in (
        ("cold_numba", "cold, numba, empty kernel cache (compiles)"),
        ("warmup", "faceapi_np.warmup() in an empty cache"),
        ("first_after_warmup", "first run after warm-up, numba"),
    ):
        if key in r:
            print(f"  {text:<44} {r[key]['s']:6.2f} / {r[key]['cpu_s']:.2f}")
    head = f"  {'warm':<6} {'ran on':<6} {'1 photo':>13}  " + " ".join(f"{p:>9}" for p in PHASES)
    print(head + f"  {r['photos']} photos")
    for label, row in r["warm"].items():
        phases = " ".join(f"{row['phases_s'][p]:>9.2f}" for p in PHASES)
        one = f"{row['median_s']:.2f} / {row['cpu_s']:.2f}"
        many = f"{row['all_photos']['median_s']:.2f} / {row['all_photos']['cpu_s']:.2f}"
        print(f"  {label:<6} {row['ran_on']:<6} {one:>13}  {phases}  {many}")


def run_startup(args, info: dict) -> int:
    """``faceapi-np bench --startup``: the sample photos, the table, ``--json`` if asked.

    ``info`` describes the machine (``bench.machine_info()``).
    """
    from . import samples

    folder = samples.fetch()
    photos = [str(folder / name) for name in sorted(samples.checksums())]
    photos.remove(str(folder / samples.DEFAULT_SAMPLE))
    photos.insert(0, str(folder / samples.DEFAULT_SAMPLE))  # the one photo comes first
    result = bench_startup(photos, args.repeat, cold=not args.no_cold)
    print(
        f"{info.get('cpu')}, {info['cores']} cores, numpy {info['numpy']}, numba {info.get('numba')}"
    )
    print_startup(result)
    if args.json:
        from .fileio import write_text

        write_text(args.json, json.dumps({"machine": info, "startup": result}, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0
