"""Entry point of ``faceapi-np``: the parser of every command, and error reporting.

Exit status: 0 when everything worked, 1 when some input failed (each failure is
reported and the run goes on), 2 for a usage error (argparse's own). Every error is one
line on stderr, never a traceback (``FACEAPI_NP_DEBUG=1`` shows the traceback of an
unexpected one). A reader that closes stdout early (``faceapi-np detect ... | head -1``)
ends the run quietly with status 1: the remaining images were not processed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import FaceApiError

#: The commands, in the order ``--help`` lists them; each is a module of this package.
COMMANDS = (
    "detect",
    "enroll",
    "identify",
    "gallery",
    "index",
    "cluster",
    "label_cluster",
    "search",
    "weights",
    "summary",
    "explain",
    "bench",
    "export",
    "warmup",
    "demo",
)


def _command(name: str):
    return importlib.import_module(f"{__package__}.{name}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="faceapi-np",
        description="face-api.js in NumPy: detect, align, describe and match faces.",
    )
    parser.add_argument("--version", action="version", version=f"faceapi-np {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = _command(name)
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.add_argument(
            "-q", "--quiet", action="store_true", help="no progress or notes on stderr, errors only"
        )
        cmd.set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    """Run one command; returns its exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): returned, not raised
        return exc.code
    from ..backend import set_backend
    from .common import QUIET_ENV

    backend = getattr(args, "backend", None)
    was_quiet = os.environ.get(QUIET_ENV)
    if getattr(args, "quiet", False):  # read by the library's notes too, so an env variable
        os.environ[QUIET_ENV] = "1"
    try:
        if backend:
            set_backend(backend)
        return args.run(args)
    except FaceApiError as exc:
        print(f"faceapi-np: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # stdout was closed by its reader: point it at /dev/null so that the interpreter's
        # final flush does not complain, and stop without a word
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("faceapi-np: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a bad input: still one line, not a traceback
        if os.environ.get("FACEAPI_NP_DEBUG"):
            raise
        print(f"faceapi-np: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if backend:
            set_backend(None)
        if was_quiet is None:
            os.environ.pop(QUIET_ENV, None)
        else:
            os.environ[QUIET_ENV] = was_quiet
