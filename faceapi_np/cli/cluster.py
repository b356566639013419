"""``faceapi-np cluster --db photos.db``: group the indexed faces nobody is named for.

Chinese whispers on the graph of faces closer than ``--threshold`` (see
``faceapi_np/gallery/cluster.py``); cluster numbers are stored with the faces, 1 being
the largest group. ``--json`` prints one ``{"image", "box", "cluster"}`` line per face.
"""

from __future__ import annotations

import json

from ..gallery.cluster import DEFAULT_CLUSTER_THRESHOLD
from .gallery import add_db_flag, open_gallery

NAME = "cluster"
HELP = "group the indexed faces of no enrolled person into clusters"


def add_arguments(parser) -> None:
    """Database, threshold, output."""
    add_db_flag(parser)
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_CLUSTER_THRESHOLD,
        help=f"join faces closer than this ({DEFAULT_CLUSTER_THRESHOLD})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per face")


def run(args) -> int:
    """Cluster, store, print."""
    with open_gallery(args.db) as g:
        clusters = g.cluster(args.threshold)
        faces = [f for f in g.faces() if f["face"] in clusters]
    if args.json:
        for f in sorted(faces, key=lambda f: (f["cluster"], f["image"], f["face_index"])):
            print(json.dumps({"image": f["image"], "box": f["box"], "cluster": f["cluster"]}))
        return 0
    sizes: dict[int, int] = {}
    for c in clusters.values():
        sizes[c] = sizes.get(c, 0) + 1
    shown = ", ".join(f"{c}: {n}" for c, n in sorted(sizes.items())[:10])
    print(f"{len(clusters)} faces in {len(sizes)} clusters (cluster: faces) {shown}")
    return 0
