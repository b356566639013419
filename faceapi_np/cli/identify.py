"""``faceapi-np identify``: name the faces of each image from a gallery."""

from __future__ import annotations

import json

from .common import (
    ChainSteps,
    ImageRun,
    add_chain_flags,
    add_detector_flags,
    box_text,
    detector_label,
    options_from_args,
    plural,
    record,
)

NAME = "identify"
HELP = "label the faces in images from a gallery JSON"


def add_arguments(parser) -> None:
    """The gallery, the threshold, output, and the detector and chain flags."""
    parser.add_argument(
        "--db", required=True, help="gallery JSON written by 'enroll' (or by face-api.js)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="'unknown' unless the best mean distance is below this (default: the gallery's, 0.6)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument(
        "--out", help="write the labelled image here (a folder when several images)"
    )
    add_detector_flags(parser)
    add_chain_flags(parser)


def run(args) -> int:
    """Describe every face and match it against the gallery."""
    from ..draw import draw_labels
    from ..matching import FaceMatcher

    matcher = FaceMatcher.load(args.db)
    if args.threshold is not None:
        matcher = FaceMatcher(matcher.labeled_descriptors, args.threshold)
    steps = ChainSteps(landmarks=args.landmarks or "full", descriptors=True)
    images = ImageRun(args, options_from_args(args), steps)
    for path, faces in images:
        matches = matcher.find_best_matches([f.descriptor for f in faces])
        if args.json:
            rec = record(path, faces, detector_label(args))
            for face, m in zip(rec["faces"], matches):
                face["label"], face["distance"] = m.label, m.distance
            print(json.dumps(rec), flush=True)
        else:
            print(f"{path}: {plural(len(faces), 'face')}")
            for f, m in zip(faces, matches):
                print(f"  {m.label:<20} distance {m.distance:.3f}  {box_text(f.box, 0)}")
        if args.out:
            images.save(draw_labels(faces.image, faces, [str(m) for m in matches]), path)
    return images.status
