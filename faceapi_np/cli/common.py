"""What several commands share: detector and chain flags, the image loop, JSON records.

Detector flags are generated from the Options dataclasses of :mod:`faceapi_np.registry`
(field name -> ``--flag``, default and help from the field), so each default is written
once, in the Options class.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ..errors import BackendError, FaceApiError, OutputError, WeightsError
from ..registry import OPTIONS_CLASSES, net_names, options_class

#: File endings taken from a folder given in place of an image.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".npy")


def progress(i: int, n: int, name: str) -> None:
    """One-line progress bar on stderr (only when it is a terminal)."""
    if n < 2 or not sys.stderr.isatty():
        return
    done = int(30 * i / n)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{n} {name[-40:]:<40}")
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


def expand_images(paths: list[str]) -> list[str]:
    """Paths as given, with each folder replaced by its image files in name order."""
    out = []
    for p in paths:
        if Path(p).is_dir():
            found = (f for f in Path(p).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            out += sorted(str(f) for f in found)
        else:
            out.append(p)
    return out


def _flag(field: dataclasses.Field) -> str:
    return "--" + field.name.replace("_", "-")


def _cli_fields(cls):
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def add_detector_flags(parser: argparse.ArgumentParser) -> None:
    """``IMAGE...``, ``--detector`` and every detector's options, plus ``--backend``."""
    from ..backend import BACKENDS

    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files, or folders of them"
    )
    detectors = net_names("detector")
    parser.add_argument(
        "--detector",
        choices=detectors,
        default=detectors[0],
        help=f"face detector (default {detectors[0]}): "
        + ", ".join(
            f"{c.detector} = {c.__name__.removesuffix('Options')}" for c in OPTIONS_CLASSES
        ),
    )
    for cls in OPTIONS_CLASSES:
        group = parser.add_argument_group(f"{cls.detector} detector ({cls.__name__})")
        for f in _cli_fields(cls):
            nargs = f.metadata.get("nargs")
            default = f.default
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
            kind = float if "float" in str(f.type) or "tuple" in str(f.type) else int
            group.add_argument(
                _flag(f),
                dest=f"{cls.detector}_{f.name}",
                type=kind,
                nargs=nargs,
                metavar=f.metadata.get("metavar", "X" if kind is float else "N"),
                default=default,
                help=f"{f.metadata['help']} ({shown})",
            )
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help=f"compute backend: auto, {', '.join(BACKENDS)} (default: FACEAPI_NP_BACKEND or auto)",
    )


def add_chain_flags(parser: argparse.ArgumentParser, landmarks_default=None) -> None:
    """Flags of the steps after detection: landmarks, crops, alignment, EXIF."""
    parser.add_argument(
        "--landmarks",
        nargs="?",
        const="full",
        choices=("full", "tiny"),
        default=landmarks_default,
        help="68 landmarks per face with FaceLandmark68Net (full) or its tiny twin",
    )
    parser.add_argument(
        "--crops",
        action="store_true",
        help="each image is already one face crop: no detection, the whole image is the face",
    )
    parser.add_argument(
        "--alignment",
        choices=("faceapi", "similarity"),
        default="faceapi",
        help="face crop for descriptors: face-api.js's box, or the same box with rotation undone",
    )
    parser.add_argument(
        "--no-exif",
        action="store_true",
        help="ignore EXIF orientation (keep the pixels as stored, as a plain decoder does)",
    )


def options_from_args(args):
    """The Options object of the detector ``args.detector``, from its flags."""
    cls = options_class(args.detector)
    values = {f.name: getattr(args, f"{cls.detector}_{f.name}") for f in _cli_fields(cls)}
    for name, value in values.items():
        if isinstance(value, list):  # nargs flags come as lists; Options hold tuples
            values[name] = tuple(value)
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class ChainSteps:
    """Which steps of the chain a command runs after detection."""

    landmarks: str | None = None  # None, "full" or "tiny"
    descriptors: bool = False
    expressions: bool = False
    age_gender: bool = False


def analyse(path: str, args, options, steps: ChainSteps):
    """The faces of one image with the chain steps asked for (``--crops``: no detection)."""
    from ..api import detect_all_faces, face_crop_results
    from ..image import load_image

    image = load_image(path, exif=not args.no_exif)
    faces = face_crop_results(image) if args.crops else detect_all_faces(image, options)
    if steps.landmarks or (steps.descriptors and not args.crops):  # face-api.js aligns first
        faces = faces.with_face_landmarks(use_tiny=steps.landmarks == "tiny")
    if steps.expressions:
        faces = faces.with_face_expressions()
    if steps.age_gender:
        faces = faces.with_age_and_gender()
    if steps.descriptors:
        faces = faces.with_face_descriptors(alignment=args.alignment)
    return faces


def record(path: str, faces, detector: str) -> dict:
    """The ``detect --json`` object of one image."""
    h, w = faces.image.shape[:2]
    return {
        "image": path,
        "width": w,
        "height": h,
        "backend": faces.backend,
        "detector": detector,
        "faces": faces.as_dicts(),
    }


def detector_label(args) -> str:
    """The ``"detector"`` of a record: the detector's name, or ``"crops"``."""
    return "crops" if args.crops else args.detector


def out_path(out: str | None, image: str, many: bool) -> Path | None:
    """Where ``--out`` puts the picture of ``image``: the file itself, or a folder of PNGs."""
    if out is None:
        return None
    if not many:
        return Path(out)
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    return folder / (Path(image).stem + ".png")


class ImageRun:
    """Runs a command over its images: per-image errors, progress, output files.

    Iterating yields ``(path, faces)`` for every image that could be processed; an image
    that cannot prints ``{"image", "error"}`` (with ``--json``) or a line on stderr and
    makes :attr:`status` 1. Errors that are not about one image (missing weights, an
    unknown backend) propagate, and ``main()`` reports them.
    """

    def __init__(self, args, options, steps: ChainSteps):
        self.args, self.options, self.steps, self.status = args, options, steps, 0
        self.images = expand_images(args.images)

    def __iter__(self):
        json_out, n = getattr(self.args, "json", False), len(self.images)
        for i, path in enumerate(self.images, start=1):
            try:
                faces = analyse(path, self.args, self.options, self.steps)
            except (WeightsError, BackendError):
                raise
            except FaceApiError as exc:
                self.status = 1
                if json_out:
                    print(json.dumps({"image": path, "error": str(exc)}), flush=True)
                else:
                    print(f"{path}: error: {exc}", file=sys.stderr)
            else:
                yield path, faces
            progress(i, n, path)

    def save(self, picture, path: str) -> None:
        """Write the annotated ``picture`` of ``path`` where ``--out`` says, if it does."""
        from ..fileio import save_image

        target = out_path(self.args.out, path, len(self.images) > 1)
        if target is not None:
            save_image(picture, target, format="PNG" if target.suffix == "" else None)
            if not getattr(self.args, "json", False):
                print(f"  wrote {target}")


def plural(n: int, word: str) -> str:
    """``"1 face"``, ``"3 faces"``."""
    return f"{n} {word}{'s' if n != 1 else ''}"


def box_text(box, digits: int = 1) -> str:
    """A box as the text output shows it."""
    x, y, w, h = (f"{v:.{digits}f}" for v in (box.x, box.y, box.width, box.height))
    return f"box x={x} y={y} w={w} h={h}"
