"""``faceapi-np warmup``: compile every kernel now, so that later runs start at once.

For container builds and CI: run it once after installing (and fetching the weights)
and every later process loads the compiled kernels from the cache
(:mod:`faceapi_np.backend.numba_cache`). Says what it compiled, where, and how long it
took; see :func:`faceapi_np.warmup.warmup`.
"""

from __future__ import annotations

import json

NAME = "warmup"
HELP = "compile the numba kernels ahead of time (container builds, CI), and time it"


def add_arguments(parser) -> None:
    """Which backends to warm, whether to run the nets, the output format."""
    parser.add_argument(
        "--backends",
        default="numba",
        metavar="NAMES",
        help="comma-separated backends to warm: numba, cupy (default numba)",
    )
    parser.add_argument(
        "--no-nets",
        action="store_true",
        help="compile the kernels only, without running every net once (needs no weights)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _describe(name: str, entry: dict) -> str:
    if "error" in entry:
        return f"{name}: not warmed: {entry['error']}"
    text = f"{name}: ready in {entry['seconds']:.1f} s"
    if "compiled" in entry:
        text += (
            f"; {entry['compiled']} kernel signatures compiled, {entry['loaded']} loaded "
            f"from the cache in {entry['cache']}"
        )
    if "nets" in entry:
        text += f"; ran {', '.join(entry['nets'])}"
        if entry.get("nets_compiled"):
            text += f" (which compiled {entry['nets_compiled']} more signatures)"
    elif "nets_skipped" in entry:
        text += f"; nets not run: {entry['nets_skipped']}"
    return text


def run(args) -> int:
    """Warm the backends; exit status 1 when one of them cannot run here."""
    from ..warmup import warmup

    backends = [b.strip().lower() for b in args.backends.split(",") if b.strip()]
    report = warmup(backends, nets=not args.no_nets)
    if args.json:
        print(json.dumps(report))
    else:
        for name, entry in report.items():
            print(_describe(name, entry))
    return 1 if any("error" in entry for entry in report.values()) else 0
