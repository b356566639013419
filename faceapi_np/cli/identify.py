"""``faceapi-np identify``: name the faces of each image from a gallery.

The gallery is a database (``--db gallery.db``, the default) or a face-api.js gallery
JSON file (a ``.json`` ``--db``); either way a FaceMatcher with face-api.js's rules
names each face.
"""

from __future__ import annotations

from .common import (
    ChainSteps,
    ImageRun,
    add_chain_flags,
    add_detector_flags,
    add_json_flags,
    add_video_flags,
    box_text,
    detector_label,
    options_from_args,
    plural,
)
from .gallery import add_db_flag, is_json, open_gallery

NAME = "identify"
HELP = "label the faces in images from a gallery"


def add_arguments(parser) -> None:
    """The gallery, the threshold, output, and the detector and chain flags."""
    add_db_flag(parser, "gallery database, or a .json gallery written by enroll or face-api.js")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="'unknown' unless the best mean distance is below this (default: the gallery's, 0.6)",
    )
    add_json_flags(parser)
    parser.add_argument(
        "--out",
        help="write the labelled image to this file, or for several images or a video "
        "into this folder (end it with /), one PNG each",
    )
    add_detector_flags(parser)
    add_chain_flags(parser)
    add_video_flags(parser)


def run(args) -> int:
    """Describe every face and match it against the gallery."""
    from ..draw import draw_labels
    from ..matching import FaceMatcher
    from ..records import distance_text

    if is_json(args.db):
        matcher = FaceMatcher.load(args.db)
        if args.threshold is not None:
            matcher = FaceMatcher(matcher.labeled_descriptors, args.threshold)
    else:
        with open_gallery(args.db) as g:
            matcher = g.matcher(args.threshold)
    steps = ChainSteps(landmarks=args.landmarks or "full", descriptors=True)
    images = ImageRun(args, options_from_args(args), steps)
    for path, faces in images:
        matches = matcher.find_best_matches([f.descriptor for f in faces])
        threshold = matcher.distance_threshold
        if args.json:
            rec = images.record(path, faces, detector_label(args))
            for face, m in zip(rec["faces"], matches):
                face["label"], face["distance"] = m.label, m.distance
            print(images.dumps(rec, threshold), flush=True)
        else:
            print(f"{images.name(path)}: {plural(len(faces), 'face')}")
            for f, m in zip(faces, matches):
                d = distance_text(m.distance, threshold, 3)
                print(f"  {m.label:<20} distance {d}  {box_text(f.box, 0)}")
        if args.out:
            images.save(draw_labels(faces.image, faces, matches, threshold=threshold), path)
    return images.status
