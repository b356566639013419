"""``faceapi-np detect``: the faces of each image, and what the flags add.

``--json`` prints one JSON object per image and line (JSON Lines)::

    {"image": "sample1.jpg", "width": 1920, "height": 1280, "backend": "numba",
     "detector": "ssd", "faces": [{"box": {"x": .., "y": .., "width": .., "height": ..},
     "score": ..}, ...]}

Boxes are in the image's own pixels, faces best first, numbers rounded (pixels to 0.01,
scores to 1e-4) unless ``--full-precision``. A video file gives one object per processed
frame (``--every N``), with ``"frame"`` and ``"time"``. Later versions only add keys; the
schema is docs/schema/detect.schema.json. An image that cannot be processed gives
``{"image": ..., "error": "..."}`` and exit status 1.
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

NAME = "detect"
HELP = "detect faces in images (and their landmarks, descriptors, expressions, age, gender)"


def add_arguments(parser) -> None:
    """Detector and chain flags, what to add per face, and where to write."""
    add_detector_flags(parser)
    add_chain_flags(parser)
    add_video_flags(parser)
    parser.add_argument(
        "--descriptors", action="store_true", help="add the 128-D descriptor of each face"
    )
    parser.add_argument(
        "--expressions", action="store_true", help="add the 7 expression probabilities of each face"
    )
    parser.add_argument("--age-gender", action="store_true", help="add age and gender of each face")
    add_json_flags(parser)
    parser.add_argument(
        "--out",
        help="write the annotated image to this file, or for several images or a video "
        "into this folder (end it with /), one PNG each",
    )


def describe(face) -> list[str]:
    """Short texts for a face's expression and age/gender, where computed."""
    parts = []
    if face.expressions is not None:
        name, p = face.top_expression
        parts.append(f"{name} ({p:.2f})")
    if face.age is not None:
        parts.append(f"{face.age:.0f} years, {face.gender} ({face.gender_probability:.2f})")
    return parts


def picture(faces, args):
    """The annotated image of one result: boxes, or labelled boxes, and landmarks."""
    from ..draw import draw_detections, draw_face_landmarks, draw_labels

    if args.expressions or args.age_gender:
        pic = draw_labels(faces.image, faces, ["  ".join(describe(f)) for f in faces])
    else:
        pic = draw_detections(faces.image, faces)
    return draw_face_landmarks(pic, faces) if args.landmarks else pic


def run(args) -> int:
    """Detect, print and draw, image by image."""
    steps = ChainSteps(args.landmarks, args.descriptors, args.expressions, args.age_gender)
    images = ImageRun(args, options_from_args(args), steps)
    for path, faces in images:
        if args.json:
            print(images.dumps(images.record(path, faces, detector_label(args))), flush=True)
        else:
            h, w = faces.image.shape[:2]
            name = images.name(path)
            print(f"{name}: {plural(len(faces), 'face')} ({w}x{h}, {faces.backend})")
            for f in faces:
                extra = "".join(f"  {part}" for part in describe(f))
                print(f"  score {f.score:.4f}  {box_text(f.box)}{extra}")
        if args.out:
            images.save(picture(faces, args), path)
    return images.status
