"""The ``faceapi-np`` command line (also ``python -m faceapi_np``).

Subcommands::

    faceapi-np detect IMAGE... [--detector ssd|tiny|mtcnn] [--landmarks [full|tiny]] [--descriptors]
                              [--expressions] [--age-gender]
                              [--json] [--out FILE_OR_DIR] ...
    faceapi-np weights fetch [--dir DIR]
    faceapi-np summary NET [--input-size N] [--json]
    faceapi-np enroll --label NAME --db gallery.json IMAGE... [--crops]
    faceapi-np identify --db gallery.json IMAGE... [--threshold 0.6] [--json] [--out labelled.png]
    faceapi-np demo [--out demo.png]

``detect --json`` prints one JSON object per image and line (JSON Lines)::

    {"image": "group.jpg", "width": 710, "height": 473, "backend": "numpy",
     "detector": "ssd", "faces": [{"box": {"x": .., "y": .., "width": .., "height": ..},
     "score": ..}, ...]}

Boxes are in the image's own pixels, faces best first. Later versions only add keys.
An image that cannot be processed gives ``{"image": ..., "error": "..."}`` and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import BackendError, FaceApiError, InputError, WeightsError


def _progress(i: int, n: int, name: str) -> None:
    """One-line progress bar on stderr (only when it is a terminal)."""
    if n < 2 or not sys.stderr.isatty():
        return
    done = int(30 * i / n)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{n} {name[-40:]:<40}")
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


#: File endings taken from a folder given in place of an image.
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".npy",
)


def _expand_images(paths: list[str]) -> list[str]:
    """Paths as given, with each folder replaced by its image files in name order."""
    out = []
    for p in paths:
        if Path(p).is_dir():
            out += sorted(str(f) for f in Path(p).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def _options(args):
    from .ssd_mobilenetv1 import SsdMobilenetv1Options
    from .tiny_face_detector import TinyFaceDetectorOptions

    if args.detector == "tiny":
        return TinyFaceDetectorOptions(
            input_size=args.input_size, score_threshold=args.score_threshold
        )
    if args.detector == "mtcnn":
        from .mtcnn import MtcnnOptions

        return MtcnnOptions(
            args.min_face_size,
            args.scale_factor,
            args.max_num_scales,
            tuple(args.score_thresholds),
        )
    return SsdMobilenetv1Options(min_confidence=args.min_confidence, max_results=args.max_results)


def _out_path(out: str | None, image: str, many: bool) -> Path | None:
    if out is None:
        return None
    if not many:
        return Path(out)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (Path(image).stem + ".png")


def _analyse(path: str, args, options):
    """Faces of one image with what the flags ask for: detection, landmarks, descriptors.

    With ``--crops`` the whole image is one face crop: no detection, its box is the image,
    and the descriptor is computed on the whole image (face-api.js ``computeFaceDescriptor``).
    """
    from .api import FaceResults, compute_face_descriptors, detect_all_faces
    from .backend import get_backend
    from .image import load_image
    from .results import Box, FaceDetection, FaceResult

    crops = getattr(args, "crops", False)
    landmarks, descriptors = getattr(args, "landmarks", None), getattr(args, "descriptors", False)
    source = load_image(path, exif=not args.no_exif)
    if crops:
        img = source
        h, w = img.shape[:2]
        face = FaceResult(FaceDetection(1.0, Box(0.0, 0.0, float(w), float(h)), (w, h)), image=img)
        faces = FaceResults([face], img, get_backend().name)
    else:
        faces = detect_all_faces(source, options)
    if landmarks or (descriptors and not crops):  # face-api.js aligns before describing
        faces = faces.with_face_landmarks(use_tiny=landmarks == "tiny")
    if getattr(args, "expressions", False):
        faces = faces.with_face_expressions()
    if getattr(args, "age_gender", False):
        faces = faces.with_age_and_gender()
    if descriptors and crops:
        from dataclasses import replace

        faces = FaceResults(
            [replace(faces[0], descriptor=compute_face_descriptors([faces.image])[0])],
            faces.image,
            faces.backend,
        )
    elif descriptors:
        faces = faces.with_face_descriptors(alignment=args.alignment)
    return faces


def _describe(face) -> list[str]:
    """Short texts for a face's expression and age/gender, where computed."""
    parts = []
    if face.expressions is not None:
        name, p = face.top_expression
        parts.append(f"{name} ({p:.2f})")
    if face.age is not None:
        parts.append(f"{face.age:.0f} years, {face.gender} ({face.gender_probability:.2f})")
    return parts


def _record(path: str, faces, detector: str) -> dict:
    h, w = faces.image.shape[:2]
    return {
        "image": path,
        "width": w,
        "height": h,
        "backend": faces.backend,
        "detector": detector,
        "faces": faces.as_dicts(),
    }


class _ImageRun:
    """Runs a command over its images: per-image errors, progress, output files.

    Iterating yields ``(path, faces)`` for every image that could be processed; an image
    that cannot prints ``{"image", "error"}`` (with ``--json``) or a line on stderr and
    makes :attr:`status` 1. Errors that are not about one image (missing weights, an
    unknown backend) propagate, and ``main()`` reports them.
    """

    def __init__(self, args, options):
        self.args, self.options, self.status = args, options, 0

    def __iter__(self):
        args, n = self.args, len(self.args.images)
        for i, path in enumerate(args.images, start=1):
            try:
                faces = _analyse(path, args, self.options)
            except (WeightsError, BackendError):
                raise
            except FaceApiError as exc:
                self.status = 1
                if args.json:
                    print(json.dumps({"image": path, "error": str(exc)}), flush=True)
                else:
                    print(f"{path}: error: {exc}", file=sys.stderr)
            else:
                yield path, faces
            _progress(i, n, path)

    def save(self, picture, path: str) -> None:
        """Write the annotated ``picture`` of ``path`` where ``--out`` says, if it does."""
        target = _out_path(self.args.out, path, len(self.args.images) > 1)
        if target is not None:
            picture.save(target)
            if not self.args.json:
                print(f"  wrote {target}")


def cmd_detect(args) -> int:
    """``faceapi-np detect``: faces, and what the flags add, per image."""
    from .api import detector_name
    from .draw import draw_detections, draw_face_landmarks, draw_labels

    options = _options(args)
    detector = "crops" if args.crops else detector_name(options)
    run = _ImageRun(args, options)
    for path, faces in run:
        h, w = faces.image.shape[:2]
        if args.json:
            print(json.dumps(_record(path, faces, detector)), flush=True)
        else:
            print(
                f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({w}x{h}, {faces.backend})"
            )
            for f in faces:
                b = f.box
                extra = "".join(f"  {part}" for part in _describe(f))
                print(
                    f"  score {f.score:.4f}  box x={b.x:.1f} y={b.y:.1f} w={b.width:.1f} h={b.height:.1f}{extra}"
                )
        if args.out:
            if args.expressions or args.age_gender:
                picture = draw_labels(faces.image, faces, ["  ".join(_describe(f)) for f in faces])
            else:
                picture = draw_detections(faces.image, faces)
            run.save(draw_face_landmarks(picture, faces) if args.landmarks else picture, path)
    return run.status


def cmd_enroll(args) -> int:
    """Add one labelled descriptor per image to a gallery JSON (created if missing)."""
    from .matching import enroll_into_json

    options = _options(args)
    args.landmarks, args.descriptors = "full", True
    new = []
    for path in args.images:
        faces = _analyse(path, args, options)
        if len(faces) != 1:
            raise InputError(
                f"{path}: found {len(faces)} faces; enroll needs exactly one face per image "
                "(crop the photo, or use --crops for images that are already face crops)"
            )
        new.append(faces[0].descriptor)
    matcher = enroll_into_json(args.db, args.label, new, args.threshold)
    labels = [ld.label for ld in matcher.labeled_descriptors]
    total = sum(len(ld.descriptors) for ld in matcher.labeled_descriptors if ld.label == args.label)
    entries = set(labels)
    print(
        f"enrolled {len(new)} face{'s' if len(new) != 1 else ''} as {args.label!r} "
        f"({total} in all) in {args.db}; {len(entries)} label{'s' if len(entries) != 1 else ''}"
    )
    return 0


def cmd_identify(args) -> int:
    """Label every face of each image from a gallery JSON."""
    from .draw import draw_labels
    from .matching import FaceMatcher

    matcher = FaceMatcher.load(args.db)
    threshold = args.threshold if args.threshold is not None else matcher.distance_threshold
    matcher = FaceMatcher(matcher.labeled_descriptors, threshold)
    options = _options(args)
    args.landmarks, args.descriptors = args.landmarks or "full", True
    run = _ImageRun(args, options)
    for path, faces in run:
        matches = matcher.find_best_matches([f.descriptor for f in faces])
        record = _record(path, faces, "crops" if args.crops else args.detector)
        for face, m in zip(record["faces"], matches):
            face["label"], face["distance"] = m.label, m.distance
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
            for f, m in zip(faces, matches):
                b = f.box
                print(
                    f"  {m.label:<20} distance {m.distance:.3f}  box x={b.x:.0f} y={b.y:.0f} w={b.width:.0f} h={b.height:.0f}"
                )
        if args.out:
            run.save(draw_labels(faces.image, faces, [str(m) for m in matches]), path)
    return run.status


def cmd_weights(args) -> int:
    """``faceapi-np weights fetch|verify``."""
    from . import weights

    if args.action == "fetch":
        dest = weights.fetch(args.dir)
        print(f"weights verified in {dest} ({len(weights.checksums())} files)")
        return 0
    bad = weights.verify(args.dir)
    for name in bad:
        print(f"missing or corrupt: {name}")
    return 1 if bad else 0


def cmd_summary(args) -> int:
    """``faceapi-np summary NET``: a net's layer table."""
    from .nets import ALL, get_net

    if args.net not in ALL:
        print(
            f"faceapi-np: error: unknown net {args.net!r}; choose one of {sorted(ALL)}",
            file=sys.stderr,
        )
        return 2
    summary = get_net(args.net).summary(args.input_size)
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 0


def cmd_demo(args) -> int:
    """Fetch weights and samples, build a small gallery, label the faces of a photo.

    The bundled sample photos show different people in each photo, so the gallery is
    enrolled from the faces of ``sample1.jpg`` (named by position) and the query is
    another rendering of it — mirrored, turned by 8 degrees and scaled down — next to a
    face from ``sample3.jpg`` that is in no gallery and must come out 'unknown'.
    """
    import numpy as np
    from PIL import Image

    from . import samples, weights
    from .api import detect_all_faces
    from .draw import draw_labels
    from .matching import FaceMatcher, LabeledFaceDescriptors

    weights.fetch()
    photo = samples.sample_path(samples.DEFAULT_SAMPLE)
    enrolled = detect_all_faces(photo).with_face_landmarks().with_face_descriptors()
    ordered = sorted(enrolled, key=lambda f: f.box.x)
    names = (
        ["left", "middle", "right"]
        if len(ordered) == 3
        else [f"person {i + 1}" for i in range(len(ordered))]
    )
    matcher = FaceMatcher(
        [
            LabeledFaceDescriptors(n, [f.descriptor for f in [face]])
            for n, face in zip(names, ordered)
        ]
    )

    # The query: sample1 mirrored, turned and scaled, with a stranger from sample3 pasted in
    query = Image.open(photo).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    query = query.rotate(8, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(40, 40, 40))
    query = query.resize((query.width * 2 // 3, query.height * 2 // 3), Image.Resampling.LANCZOS)
    stranger = detect_all_faces(samples.sample_path("sample3.jpg"))[0].box
    patch = (
        Image.open(samples.sample_path("sample3.jpg"))
        .convert("RGB")
        .crop(
            (
                int(stranger.x - 20),
                int(stranger.y - 20),
                int(stranger.right + 20),
                int(stranger.bottom + 20),
            )
        )
    )
    query.paste(patch, (20, query.height - patch.height - 20))
    faces = detect_all_faces(np.asarray(query)).with_face_landmarks().with_face_descriptors()
    matches = matcher.find_best_matches([f.descriptor for f in faces])
    draw_labels(faces.image, faces, [str(m) for m in matches]).save(args.out)
    print(f"gallery: {len(names)} people enrolled from {photo.name} ({', '.join(names)})")
    print(
        f"query: {photo.name} mirrored, turned 8 degrees, scaled 2/3, plus a stranger from sample3.jpg"
    )
    for f, m in sorted(zip(faces, matches), key=lambda fm: fm[0].box.x):
        b = f.box
        print(
            f"  {m.label:<8} distance {m.distance:.3f}  box x={b.x:.0f} y={b.y:.0f} w={b.width:.0f} h={b.height:.0f}"
        )
    print(f"labelled image written to {args.out} ({faces.backend} backend)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand but ``bench`` (which has its own)."""
    p = argparse.ArgumentParser(
        prog="faceapi-np", description="face-api.js in NumPy: detect faces."
    )
    p.add_argument("--version", action="version", version=f"faceapi-np {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def detector_flags(q):
        q.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or folders of them")
        q.add_argument(
            "--detector",
            choices=("ssd", "tiny", "mtcnn"),
            default="ssd",
            help="SSD MobileNetV1 (accurate, default), the Tiny Face Detector (fast) or MTCNN",
        )
        q.add_argument(
            "--min-confidence",
            type=float,
            default=0.5,
            help="SSD: keep scores above this (0.5)",
        )
        q.add_argument(
            "--max-results",
            type=int,
            default=100,
            help="SSD: at most this many faces (100)",
        )
        q.add_argument(
            "--input-size",
            type=int,
            default=416,
            help="tiny: input side, a multiple of 32 (416)",
        )
        q.add_argument(
            "--score-threshold",
            type=float,
            default=0.5,
            help="tiny: keep scores above this (0.5)",
        )
        q.add_argument(
            "--min-face-size",
            type=float,
            default=20,
            help="mtcnn: smallest face in pixels (20)",
        )
        q.add_argument(
            "--scale-factor",
            type=float,
            default=0.709,
            help="mtcnn: pyramid step (0.709)",
        )
        q.add_argument(
            "--max-num-scales",
            type=int,
            default=10,
            help="mtcnn: at most this many levels (10)",
        )
        q.add_argument(
            "--score-thresholds",
            type=float,
            nargs=3,
            default=(0.6, 0.7, 0.7),
            metavar=("P", "R", "O"),
            help="mtcnn: P-Net, R-Net, O-Net thresholds (0.6 0.7 0.7)",
        )
        q.add_argument(
            "--crops",
            action="store_true",
            help="each image is already one face crop: no detection, the whole image is the face",
        )
        q.add_argument(
            "--alignment",
            choices=("faceapi", "similarity"),
            default="faceapi",
            help="face crop for descriptors: face-api.js's box, or the same box with rotation undone",
        )
        q.add_argument(
            "--no-exif",
            action="store_true",
            help="ignore EXIF orientation (keep the pixels as stored, as a plain decoder does)",
        )
        q.add_argument("--backend", help="compute backend (numpy; default: automatic)")

    d = sub.add_parser("detect", help="detect faces in images")
    detector_flags(d)
    d.add_argument(
        "--landmarks",
        nargs="?",
        const="full",
        choices=("full", "tiny"),
        help="add 68 landmarks per face (FaceLandmark68Net, or its tiny twin)",
    )
    d.add_argument(
        "--descriptors",
        action="store_true",
        help="add the 128-D descriptor of each face",
    )
    d.add_argument(
        "--expressions",
        action="store_true",
        help="add the 7 expression probabilities of each face",
    )
    d.add_argument("--age-gender", action="store_true", help="add age and gender of each face")
    d.add_argument("--json", action="store_true", help="print one JSON object per image")
    d.add_argument("--out", help="write the annotated image here (a folder when several images)")
    d.set_defaults(func=cmd_detect)

    e = sub.add_parser("enroll", help="add labelled faces (one per image) to a gallery JSON")
    e.add_argument("--label", required=True, help="the person's name")
    e.add_argument("--db", required=True, help="gallery JSON (face-api.js FaceMatcher format)")
    e.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="distance threshold stored in a new gallery (0.6)",
    )
    detector_flags(e)
    e.set_defaults(func=cmd_enroll)

    i = sub.add_parser("identify", help="label the faces in images from a gallery JSON")
    i.add_argument(
        "--db",
        required=True,
        help="gallery JSON written by 'enroll' (or by face-api.js)",
    )
    i.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="'unknown' unless the best mean distance is below this (default: the gallery's, 0.6)",
    )
    i.add_argument(
        "--landmarks",
        nargs="?",
        const="full",
        choices=("full", "tiny"),
        default=None,
        help="landmark net used for alignment (full)",
    )
    i.add_argument("--json", action="store_true", help="print one JSON object per image")
    i.add_argument("--out", help="write the labelled image here (a folder when several images)")
    detector_flags(i)
    i.set_defaults(func=cmd_identify)

    w = sub.add_parser("weights", help="fetch or verify the face-api.js weights")
    w.add_argument("action", choices=("fetch", "verify"))
    w.add_argument(
        "--dir",
        help="weights folder (default: FACEAPI_NP_WEIGHTS, ./weights or the user cache)",
    )
    w.set_defaults(func=cmd_weights)

    s = sub.add_parser("summary", help="print a net's layers, shapes, parameters and mult-adds")
    s.add_argument("net", help="ssd, tiny, landmarks, landmarks_tiny or recognition")
    s.add_argument("--input-size", type=int, default=None)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_summary)

    # `bench` has its own parser (faceapi_np/bench.py); main() hands it the rest of argv
    sub.add_parser("bench", help="time every net on every backend (see 'faceapi-np bench --help')")

    m = sub.add_parser(
        "demo",
        help="fetch weights and sample photos, label faces from a small gallery, write a PNG",
    )
    m.add_argument("--out", default="demo.png")
    m.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point of the ``faceapi-np`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .backend import set_backend

    try:
        if getattr(args, "backend", None):
            set_backend(args.backend)
        if getattr(args, "images", None):
            args.images = _expand_images(args.images)
        return args.func(args)
    except FaceApiError as exc:
        print(f"faceapi-np: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if getattr(args, "backend", None):
            set_backend(None)
