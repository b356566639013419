"""``faceapi-np weights fetch|verify``: get face-api.js's weight files, or check them."""

from __future__ import annotations

NAME = "weights"
HELP = "fetch or verify the face-api.js weights"


def add_arguments(parser) -> None:
    """The action and the folder."""
    parser.add_argument("action", choices=("fetch", "verify"))
    parser.add_argument(
        "--dir",
        help="weights folder (default: FACEAPI_NP_WEIGHTS, else weights/ of a source checkout, "
        "else the user cache folder)",
    )


def run(args) -> int:
    """Fetch (idempotent, sha256-checked) or verify; 1 when files are missing or corrupt."""
    from .. import paths, weights

    if args.action == "fetch":
        dest = weights.fetch(args.dir)
        print(f"weights verified in {dest} ({len(weights.checksums())} files)")
        return 0
    bad = weights.verify(args.dir)
    for name in bad:
        print(f"missing or corrupt: {name}")
    if not bad:
        print(
            f"weights verified in {paths.weights_dir(args.dir)} ({len(weights.checksums())} files)"
        )
    return 1 if bad else 0
