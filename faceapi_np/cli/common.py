"""What several commands share: detector and chain flags, the image loop, JSON records.

Detector flags are generated from the Options dataclasses of :mod:`faceapi_np.registry`
(field name -> ``--flag``, default and help from the field), so each default is written
once, in the Options class.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from ..errors import BackendError, FaceApiError, OptionsError, OutputError, WeightsError
from ..notice import QUIET_ENV, quiet  # noqa: F401  (--quiet sets QUIET_ENV)
from ..registry import OPTIONS_CLASSES, net_names, options_class

#: File endings taken from a folder given in place of an image.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".npy")
#: File endings read as video (frame by frame, with the ``video`` extra).
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def is_video(path: str) -> bool:
    """Whether ``path`` names a video file (by its ending)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def progress(i: int, n: int, name: str) -> None:
    """One-line progress bar on stderr (only when it is a terminal, and not ``--quiet``)."""
    if n < 2 or not sys.stderr.isatty() or quiet():
        return
    done = int(30 * i / n)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{n} {name[-40:]:<40}")
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


def expand_images(paths: list[str], recursive: bool = False, stdin=None) -> list[str]:
    """Paths as given; ``-`` stands for the paths on standard input, one per line, and a
    folder for its image and video files in name order (with those of its subfolders
    when ``recursive``)."""
    out = []
    for p in paths:
        if p == "-":
            lines = (stdin or sys.stdin).read().splitlines()
            out += expand_images([x.strip() for x in lines if x.strip()], recursive, stdin)
        elif Path(p).is_dir():
            files = Path(p).rglob("*") if recursive else Path(p).iterdir()
            known = IMAGE_SUFFIXES + VIDEO_SUFFIXES
            out += sorted(str(f) for f in files if f.suffix.lower() in known and f.is_file())
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
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image or video files, folders of them, or - to read paths from standard input "
        "(one per line)",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="walk folders into their subfolders"
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


def add_json_flags(parser: argparse.ArgumentParser, per: str = "image") -> None:
    """``--json`` (one object per ``per`` and line) and ``--full-precision``."""
    parser.add_argument("--json", action="store_true", help=f"print one JSON object per {per}")
    parser.add_argument(
        "--full-precision",
        action="store_true",
        help="--json numbers unrounded (default: pixels to 0.01, scores and distances to 1e-4)",
    )


def add_chain_flags(parser: argparse.ArgumentParser, landmarks_default=None) -> None:
    """Flags of the steps after detection: landmarks, crops, alignment, EXIF."""
    parser.add_argument(
        "--landmarks",
        nargs="?",
        const="full",
        choices=("full", "tiny"),
        default=landmarks_default,
        help="68 landmarks per face: full (FaceLandmark68Net, the default) or tiny "
        "(FaceLandmark68TinyNet)",
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
        help="face crop for descriptors: faceapi (face-api.js's box, the default) or "
        "similarity (the same box with the head's rotation undone)",
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


def add_video_flags(parser: argparse.ArgumentParser) -> None:
    """``--every N`` for video files given as IMAGE."""
    parser.add_argument(
        "--every",
        type=int,
        default=1,
        metavar="N",
        help="video files: process every N-th frame (1); one result per processed frame",
    )


def analyse(path: str, args, options, steps: ChainSteps):
    """The faces of one image with the chain steps asked for (``--crops``: no detection)."""
    from ..api import detect_all_faces, face_crop_results
    from ..image import load_image

    image = load_image(path, exif=not args.no_exif)
    faces = face_crop_results(image) if args.crops else detect_all_faces(image, options)
    return add_steps(faces, args, steps)


def add_steps(faces, args, steps: ChainSteps):
    """The chain steps after detection, as ``steps`` asks."""
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


def out_is_folder(out: str, many: bool) -> bool:
    """Whether ``--out`` names a folder: it ends with ``/``, is one, or (for several
    pictures) has no file ending."""
    return out.endswith(("/", os.sep)) or Path(out).is_dir() or (many and not Path(out).suffix)


def out_path(out: str | None, name: str, folder: bool, taken: set | None = None) -> Path | None:
    """Where ``--out`` puts the picture called ``name``: the file itself, or a unique PNG
    in the folder (``x.png``, then ``x-2.png``, ... for names already ``taken``)."""
    if out is None:
        return None
    if not folder:
        return Path(out)
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the folder {out}: {exc.strerror or exc}") from None
    taken = set() if taken is None else taken
    stem, n = Path(name).stem, 1
    while (target := Path(out) / (stem + (f"-{n}" if n > 1 else "") + ".png")) in taken:
        n += 1
    taken.add(target)
    return target


class ImageRun:
    """Runs a command over its images: per-image errors, progress, output files.

    Iterating yields ``(path, faces)`` for every image that could be processed; an image
    that cannot prints ``{"image", "error"}`` (with ``--json``) or a line on stderr and
    makes :attr:`status` 1. Errors that are not about one image (missing weights, an
    unknown backend) propagate, and ``main()`` reports them.
    """

    def __init__(self, args, options, steps: ChainSteps):
        self.args, self.options, self.steps, self.status = args, options, steps, 0
        self.images = expand_images(args.images, getattr(args, "recursive", False))
        self.frame = None  # (index, seconds) of the video frame being yielded, else None
        self._taken = set()
        # a folder without images is a failed input too, not a silent success
        recursive = getattr(args, "recursive", False)
        self.empty = [
            p for p in args.images if Path(p).is_dir() and not expand_images([p], recursive)
        ]
        out = getattr(args, "out", None)
        many = len(self.images) > 1 or any(is_video(p) for p in self.images)
        self._out_folder = out is not None and out_is_folder(out, many)
        if out is not None and many and not self._out_folder:
            raise OptionsError(
                f"--out {out} names one file, but there are {len(self.images)} inputs"
                f"{' (a video gives a picture per frame)' if len(self.images) == 1 else ''}: "
                f"give a folder instead, ending in '/' (e.g. --out {Path(out).stem}/)"
            )

    def fail(self, path: str, message: str) -> None:
        """Report that ``path`` failed (a JSON line with ``--json``, else stderr); status 1."""
        self.status = 1
        if getattr(self.args, "json", False):
            print(json.dumps({"image": path, "error": message}), flush=True)
        else:
            print(f"{path}: error: {message}", file=sys.stderr)

    def __iter__(self):
        from ..backend import expected_work

        # for 'auto': this many images (a video's frames are not counted: work unknown)
        n = None if any(is_video(p) for p in self.images) else len(self.images)
        with expected_work(n, detector_label(self.args)):
            yield from self._each()

    def _each(self):
        n = len(self.images)
        for folder in self.empty:
            self.fail(folder, "no image or video files in this folder")
        for i, path in enumerate(self.images, start=1):
            try:
                if is_video(path):
                    yield from self._frames(path)
                else:
                    faces = analyse(path, self.args, self.options, self.steps)
                    self.frame = None
                    yield path, faces
            except (WeightsError, BackendError):
                raise
            except FaceApiError as exc:
                self.fail(path, str(exc))
            except Exception as exc:  # a bug shown by one input must not end the run
                if os.environ.get("FACEAPI_NP_DEBUG"):
                    raise
                self.fail(path, f"internal error: {type(exc).__name__}: {exc}")
            progress(i, n, path)

    def _frames(self, path: str):
        """``(path, faces)`` of every ``--every``-th frame of a video; :attr:`frame` says which."""
        from ..video import detect_video

        if self.args.crops:
            raise OptionsError("--crops takes face-crop images, not video")
        every = getattr(self.args, "every", 1)
        for frame in detect_video(path, every=every, options=self.options):
            self.frame = (frame.index, frame.time)
            yield path, add_steps(frame.faces, self.args, self.steps)
        self.frame = None

    def name(self, path: str) -> str:
        """``path``, with the frame's index and time when it is a video frame."""
        if self.frame is None:
            return path
        index, t = self.frame
        return f"{path} frame {index}" + ("" if t is None else f" ({t:.2f} s)")

    def record(self, path: str, faces, detector: str) -> dict:
        """:func:`record`, with ``frame`` and ``time`` after ``image`` for a video frame."""
        rec = record(path, faces, detector)
        if self.frame is None:
            return rec
        return {"image": path, "frame": self.frame[0], "time": self.frame[1]} | rec

    def dumps(self, rec: dict, threshold: float | None = None) -> str:
        """A record as one JSON line, rounded unless ``--full-precision``."""
        from ..records import round_record

        full = getattr(self.args, "full_precision", False)
        return json.dumps(round_record(rec, full=full, threshold=threshold))

    def save(self, picture, path: str) -> None:
        """Write the annotated ``picture`` of ``path`` where ``--out`` says, if it does."""
        from ..fileio import save_image

        name = path if self.frame is None else f"{Path(path).stem}-{self.frame[0]:06d}.png"
        try:
            target = out_path(self.args.out, name, self._out_folder, self._taken)
            if target is not None:
                save_image(picture, target, format="PNG" if target.suffix == "" else None)
        except OutputError as exc:  # reported for this image; the others may still succeed
            self.fail(self.name(path), str(exc))
            return
        if target is not None and not getattr(self.args, "json", False):
            print(f"  wrote {target}")


def plural(n: int, word: str) -> str:
    """``"1 face"``, ``"3 faces"``."""
    return f"{n} {word}{'s' if n != 1 else ''}"


def box_text(box, digits: int = 1) -> str:
    """A box as the text output shows it."""
    x, y, w, h = (f"{v:.{digits}f}" for v in (box.x, box.y, box.width, box.height))
    return f"box x={x} y={y} w={w} h={h}"
