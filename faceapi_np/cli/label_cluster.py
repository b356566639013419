"""``faceapi-np label-cluster ID NAME --db photos.db``: name a cluster's faces.

The faces of cluster ``ID`` (from ``cluster``) become reference faces of the person
``NAME`` (joining the first person of that name, or a new one), in one transaction;
``identify`` and ``search`` then know them.
"""

from __future__ import annotations

from .gallery import add_db_flag, open_gallery

NAME = "label-cluster"
HELP = "enroll the faces of one cluster as a named person"


def add_arguments(parser) -> None:
    """Cluster number, name, database."""
    parser.add_argument("cluster", type=int, metavar="ID", help="cluster number from 'cluster'")
    parser.add_argument("label", metavar="NAME", help="the person's name")
    add_db_flag(parser)


def run(args) -> int:
    """Label the cluster."""
    with open_gallery(args.db) as g:
        pid = g.label_cluster(args.cluster, args.label)
        n = int((g.store.matrix().person == pid).sum())
    print(f"cluster {args.cluster} is now {args.label!r} ({n} faces in all) in {args.db}")
    return 0
