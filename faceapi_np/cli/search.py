"""``faceapi-np search --db photos.db --label NAME | --image FACE.jpg``: where a person appears.

Prints the indexed faces of the person, nearest first, as JSON Lines::

    {"image": "/photos/2019/beach.jpg", "box": {"x": .., "y": .., "width": .., "height": ..},
     "score": 0.98, "distance": 0.31, "face": 812, "cluster": 4, "label": null}

``--label`` compares with the person's enrolled faces (mean distance, as FaceMatcher
does) and always lists the faces labelled as them; ``--image`` takes the best face of a
photo, found by SSD MobileNetV1 (``--crops``: the whole image is the face).
"""

from __future__ import annotations

import json

from .gallery import add_db_flag, open_gallery

NAME = "search"
HELP = "find the indexed photos where a person (a label, or a face image) appears"


def add_arguments(parser) -> None:
    """Who to look for, database, threshold."""
    add_db_flag(parser)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--label", metavar="NAME", help="an enrolled person")
    who.add_argument("--image", metavar="FACE.jpg", help="a photo of the person (best face)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="faces nearer than this (default: the gallery's, 0.6)",
    )
    parser.add_argument(
        "--crops", action="store_true", help="the --image is a face crop: no detection"
    )


def run(args) -> int:
    """Search and print JSON Lines."""
    with open_gallery(args.db) as g:
        if args.label is not None:
            hits = g.search(label=args.label, threshold=args.threshold)
        else:
            hits = g.search(
                image=args.image,
                threshold=args.threshold,
                crops=args.crops,
            )
    for hit in hits:
        print(json.dumps(hit))
    return 0
