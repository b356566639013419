"""``faceapi-np enroll``: add labelled faces, one per image, to a gallery.

The gallery is a database (``--db gallery.db``, the default): the faces are added in one
transaction, with the image, box, landmarks and model they came from. A ``.json``
``--db`` is a face-api.js gallery file instead, rewritten whole under a lock.
"""

from __future__ import annotations

import os
import sys

from ..errors import InputError
from .common import (
    ChainSteps,
    ImageRun,
    add_chain_flags,
    add_detector_flags,
    box_text,
    options_from_args,
)
from .gallery import add_db_flag, is_json, open_gallery

NAME = "enroll"
HELP = "add labelled faces (one per image) to a gallery"


def add_arguments(parser) -> None:
    """The person's label, the gallery, and the detector and chain flags."""
    parser.add_argument("--label", required=True, help="the person's name")
    add_db_flag(parser, "gallery database, or a .json face-api.js gallery file")
    parser.add_argument(
        "--threshold", type=float, default=0.6, help="distance threshold of a new gallery (0.6)"
    )
    add_detector_flags(parser)
    add_chain_flags(parser)


def run(args) -> int:
    """Describe the one face of each image, then add them all in one write (one
    transaction, or one locked rewrite of a JSON gallery).

    Each image is reported as it goes; one without exactly one face is skipped (and makes
    the exit status 1) while the others are still enrolled.
    """
    steps = ChainSteps(landmarks=args.landmarks or "full", descriptors=True)
    options = options_from_args(args)
    new, images = [], ImageRun(args, options, steps)
    for path, faces in images:
        if len(faces) != 1:
            images.status = 1
            print(
                f"{images.name(path)}: skipped: found {len(faces)} faces; enroll needs exactly "
                "one face per image (crop the photo, or use --crops for images that are "
                "already face crops)",
                file=sys.stderr,
            )
            continue
        new.append(_face_record(path, faces, args, options))
        print(f"{images.name(path)}: 1 face, {box_text(faces[0].box, 0)}")
    if not new:
        raise InputError("no face could be enrolled from the images given")
    if is_json(args.db):
        from ..matching import enroll_into_json

        matcher = enroll_into_json(
            args.db, args.label, [f["descriptor"] for f in new], args.threshold
        )
        entries = matcher.labeled_descriptors
        total = sum(len(ld.descriptors) for ld in entries if ld.label == args.label)
        labels = len({ld.label for ld in entries})
    else:
        with open_gallery(args.db, create=True) as g:
            pid = g.enroll(args.label, new, args.threshold)
            m = g.store.matrix()
            total = int((m.person == pid).sum())
            labels = len(set(g.labels))
    print(
        f"enrolled {len(new)} face{'s' if len(new) != 1 else ''} as {args.label!r} "
        f"({total} in all) in {args.db}; {labels} label{'s' if labels != 1 else ''}"
    )
    return images.status


def _face_record(path: str, faces, args, options) -> dict:
    """The face with where it came from and what made it, as the database stores it."""
    from ..gallery.index import IndexSettings, file_sha256

    settings = IndexSettings(
        options, args.landmarks or "full", args.crops, args.alignment, not args.no_exif
    )
    h, w = faces.image.shape[:2]
    face = faces[0].as_dict()
    face.update(image=path, width=w, height=h, model=settings.model)
    face.update(options=settings.options_json)
    if os.path.isfile(path):  # not for a video frame or standard input
        face["sha256"] = file_sha256(path)
    return face
