"""``faceapi-np index PHOTOS... --db photos.db``: every face of a photo collection.

Folders are walked recursively; every face is stored with its photo's path, size and
hash, box, score, landmarks, descriptor, model and options. A second run skips the
photos already indexed (same path and content) and finishes what an interrupted run
left. A photo that cannot be read is reported and recorded, and the run goes on.
``--jobs N`` uses N processes; ``--dask ADDRESS`` an existing Dask cluster (``--dask
local`` starts one here with ``--jobs`` workers). ``--json`` prints one ``detect --json``
line per photo as it is stored, with landmarks and descriptors (``-`` reads the paths
from standard input; folders are always walked whole, so ``--recursive`` changes nothing).
"""

from __future__ import annotations

import json
import sys

from .common import add_chain_flags, add_detector_flags, add_json_flags, options_from_args, progress
from .gallery import add_db_flag, open_gallery

NAME = "index"
HELP = "index every face of a photo collection into a gallery database (resumable)"


def add_arguments(parser) -> None:
    """Photos, database, parallelism, and the detector and chain flags."""
    add_db_flag(parser)
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (1)")
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address (tcp://host:8786), or 'local'",
    )
    add_json_flags(parser, per="photo")
    add_detector_flags(parser)
    add_chain_flags(parser, landmarks_default="full")


def run(args) -> int:
    """Index the photos; exit status 1 when some could not be read."""
    from ..errors import OptionsError
    from ..records import round_record

    if args.jobs < 1:
        raise OptionsError(f"--jobs must be at least 1, got {args.jobs}")
    paths = []
    for p in args.images:  # "-": the paths on standard input, one per line
        paths += [x.strip() for x in sys.stdin if x.strip()] if p == "-" else [p]

    def show(record: dict) -> None:
        if args.json:
            print(json.dumps(round_record(record, args.full_precision)), flush=True)
        elif "error" in record:
            print(f"{record['image']}: error: {record['error']}", file=sys.stderr)

    with open_gallery(args.db, create=True) as g:
        report = g.index(
            paths,
            jobs=args.jobs,
            dask=args.dask,
            options=None if args.crops else options_from_args(args),
            landmarks=args.landmarks or "full",
            crops=args.crops,
            alignment=args.alignment,
            exif=not args.no_exif,
            backend=args.backend,
            on_record=show,
            progress=progress,
        )
    print(
        f"indexed {report.indexed} photos ({report.faces} faces) into {args.db}; "
        f"{report.skipped} already indexed, {len(report.failed)} failed",
        file=sys.stderr if args.json else sys.stdout,
    )
    return 1 if report.failed else 0
