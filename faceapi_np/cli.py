"""The ``faceapi-np`` command line (also ``python -m faceapi_np``).

Subcommands::

    faceapi-np detect IMAGE... [--detector ssd|tiny] [--json] [--out FILE_OR_DIR] ...
    faceapi-np weights fetch [--dir DIR]
    faceapi-np summary NET [--input-size N] [--json]
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
from .errors import BackendError, FaceApiError, WeightsError


def _progress(i: int, n: int, name: str) -> None:
    """One-line progress bar on stderr (only when it is a terminal)."""
    if n < 2 or not sys.stderr.isatty():
        return
    done = int(30 * i / n)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{n} {name[-40:]:<40}")
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _options(args):
    from .ssd_mobilenetv1 import SsdMobilenetv1Options
    from .tiny_face_detector import TinyFaceDetectorOptions

    if args.detector == "tiny":
        return TinyFaceDetectorOptions(input_size=args.input_size, score_threshold=args.score_threshold)
    return SsdMobilenetv1Options(min_confidence=args.min_confidence, max_results=args.max_results)


def _out_path(out: str | None, image: str, many: bool) -> Path | None:
    if out is None:
        return None
    if not many:
        return Path(out)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (Path(image).stem + ".png")


def cmd_detect(args) -> int:
    from .api import detect_all_faces, detector_name
    from .backend import set_backend
    from .draw import draw_detections

    options = _options(args)
    bk = set_backend(args.backend) if args.backend else None
    status, n = 0, len(args.images)
    for i, path in enumerate(args.images, start=1):
        try:
            faces = detect_all_faces(path, options)
        except (WeightsError, BackendError):
            raise  # not about this image: stop, main() reports it
        except FaceApiError as exc:
            status = 1
            if args.json:
                print(json.dumps({"image": path, "error": str(exc)}), flush=True)
            else:
                print(f"{path}: error: {exc}", file=sys.stderr)
            _progress(i, n, path)
            continue
        h, w = faces.image.shape[:2]
        if args.json:
            record = {
                "image": path,
                "width": w,
                "height": h,
                "backend": faces.backend,
                "detector": detector_name(options),
                "faces": faces.as_dicts(),
            }
            print(json.dumps(record), flush=True)
        else:
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({w}x{h}, {faces.backend})")
            for f in faces:
                b = f.box
                print(f"  score {f.score:.4f}  box x={b.x:.1f} y={b.y:.1f} w={b.width:.1f} h={b.height:.1f}")
        target = _out_path(args.out, path, n > 1)
        if target is not None:
            draw_detections(faces.image, faces).save(target)
            if not args.json:
                print(f"  wrote {target}")
        _progress(i, n, path)
    if bk is not None:
        set_backend(None)
    return status


def cmd_weights(args) -> int:
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
    from .nets import ALL, get_net

    if args.net not in ALL:
        print(f"faceapi-np: error: unknown net {args.net!r}; choose one of {sorted(ALL)}", file=sys.stderr)
        return 2
    summary = get_net(args.net).summary(args.input_size)
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 0


def cmd_demo(args) -> int:
    from . import samples, weights
    from .api import detect_all_faces
    from .draw import draw_detections

    weights.fetch()
    photo = samples.sample_path(samples.DEFAULT_SAMPLE)
    faces = detect_all_faces(photo)
    draw_detections(faces.image, faces).save(args.out)
    print(f"{photo.name}: {len(faces)} faces found with SSD MobileNetV1 ({faces.backend} backend)")
    for f in faces:
        b = f.box
        print(f"  score {f.score:.3f}  box x={b.x:.0f} y={b.y:.0f} w={b.width:.0f} h={b.height:.0f}")
    print(f"annotated image written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faceapi-np", description="face-api.js in NumPy: detect faces.")
    p.add_argument("--version", action="version", version=f"faceapi-np {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="detect faces in images")
    d.add_argument("images", nargs="+", metavar="IMAGE")
    d.add_argument("--detector", choices=("ssd", "tiny"), default="ssd",
                   help="SSD MobileNetV1 (accurate, default) or the Tiny Face Detector (fast)")
    d.add_argument("--min-confidence", type=float, default=0.5, help="SSD: keep scores above this (0.5)")
    d.add_argument("--max-results", type=int, default=100, help="SSD: at most this many faces (100)")
    d.add_argument("--input-size", type=int, default=416, help="tiny: input side, a multiple of 32 (416)")
    d.add_argument("--score-threshold", type=float, default=0.5, help="tiny: keep scores above this (0.5)")
    d.add_argument("--backend", help="compute backend (numpy; default: automatic)")
    d.add_argument("--json", action="store_true", help="print one JSON object per image")
    d.add_argument("--out", help="write the annotated image here (a folder when several images)")
    d.set_defaults(func=cmd_detect)

    w = sub.add_parser("weights", help="fetch or verify the face-api.js weights")
    w.add_argument("action", choices=("fetch", "verify"))
    w.add_argument("--dir", help="weights folder (default: FACEAPI_NP_WEIGHTS, ./weights or the user cache)")
    w.set_defaults(func=cmd_weights)

    s = sub.add_parser("summary", help="print a net's layers, shapes, parameters and mult-adds")
    s.add_argument("net", help="ssd or tiny")
    s.add_argument("--input-size", type=int, default=None)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_summary)

    m = sub.add_parser("demo", help="fetch weights and a sample photo, detect faces, write a PNG")
    m.add_argument("--out", default="demo.png")
    m.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point of the ``faceapi-np`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FaceApiError as exc:
        print(f"faceapi-np: error: {exc}", file=sys.stderr)
        return 1
