"""``faceapi-np enroll``: add labelled faces, one per image, to a gallery."""

from __future__ import annotations

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

NAME = "enroll"
HELP = "add labelled faces (one per image) to a gallery JSON"


def add_arguments(parser) -> None:
    """The person's label, the gallery, and the detector and chain flags."""
    parser.add_argument("--label", required=True, help="the person's name")
    parser.add_argument("--db", required=True, help="gallery JSON (face-api.js FaceMatcher format)")
    parser.add_argument(
        "--threshold", type=float, default=0.6, help="distance threshold of a new gallery (0.6)"
    )
    add_detector_flags(parser)
    add_chain_flags(parser)


def run(args) -> int:
    """Describe the one face of each image, then add them all in one locked write.

    Each image is reported as it goes; one without exactly one face is skipped (and makes
    the exit status 1) while the others are still enrolled.
    """
    from ..matching import enroll_into_json

    steps = ChainSteps(landmarks=args.landmarks or "full", descriptors=True)
    new, images = [], ImageRun(args, options_from_args(args), steps)
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
        new.append(faces[0].descriptor)
        print(f"{images.name(path)}: 1 face, {box_text(faces[0].box, 0)}")
    if not new:
        raise InputError("no face could be enrolled from the images given")
    matcher = enroll_into_json(args.db, args.label, new, args.threshold)
    entries = matcher.labeled_descriptors
    total = sum(len(ld.descriptors) for ld in entries if ld.label == args.label)
    labels = len({ld.label for ld in entries})
    print(
        f"enrolled {len(new)} face{'s' if len(new) != 1 else ''} as {args.label!r} "
        f"({total} in all) in {args.db}; {labels} label{'s' if labels != 1 else ''}"
    )
    return images.status
