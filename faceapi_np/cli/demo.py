"""``faceapi-np demo``: fetch weights and sample photos, name faces from a small gallery.

The bundled sample photos show different people in each photo, so the gallery is
enrolled from the faces of ``sample1.jpg`` (named by position) and the query is another
rendering of it, mirrored, turned by 8 degrees and scaled down, next to a face from
``sample3.jpg`` that is in no gallery and must come out 'unknown'.
"""

from __future__ import annotations

from .common import box_text

NAME = "demo"
HELP = "fetch weights and sample photos, label faces from a small gallery, write a PNG"


def add_arguments(parser) -> None:
    """Where to write the labelled picture."""
    parser.add_argument("--out", default="demo.png", help="the labelled picture (demo.png)")


def query_image(photo, stranger_photo):
    """``photo`` mirrored, turned 8 degrees and scaled 2/3, with ``stranger_photo``'s best
    face pasted into the lower left corner; an RGB array."""
    import numpy as np
    from PIL import Image

    from ..api import detect_all_faces

    query = Image.open(photo).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    query = query.rotate(8, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(40, 40, 40))
    query = query.resize((query.width * 2 // 3, query.height * 2 // 3), Image.Resampling.LANCZOS)
    b = detect_all_faces(stranger_photo)[0].box
    margin = (int(b.x - 20), int(b.y - 20), int(b.right + 20), int(b.bottom + 20))
    patch = Image.open(stranger_photo).convert("RGB").crop(margin)
    query.paste(patch, (20, query.height - patch.height - 20))
    return np.asarray(query)


def run(args) -> int:
    """Enroll sample1's faces, label the query image, write the picture."""
    from ..backend import expected_work

    with expected_work(3, "ssd"):  # three photos: 'auto' needs no numba start, no compile
        return _demo(args)


def _demo(args) -> int:
    from .. import samples, weights
    from ..api import detect_all_faces
    from ..draw import draw_labels
    from ..fileio import save_image
    from ..matching import FaceMatcher, LabeledFaceDescriptors

    weights.fetch()
    photo = samples.sample_path(samples.DEFAULT_SAMPLE)
    enrolled = detect_all_faces(photo).with_face_landmarks().with_face_descriptors()
    ordered = sorted(enrolled, key=lambda f: f.box.x)
    three = ["left", "middle", "right"]
    names = three if len(ordered) == 3 else [f"person {i + 1}" for i in range(len(ordered))]
    matcher = FaceMatcher(
        [LabeledFaceDescriptors(n, [f.descriptor]) for n, f in zip(names, ordered)]
    )
    query = query_image(photo, samples.sample_path("sample3.jpg"))
    faces = detect_all_faces(query).with_face_landmarks().with_face_descriptors()
    matches = matcher.find_best_matches([f.descriptor for f in faces])
    picture = draw_labels(faces.image, faces, matches, threshold=matcher.distance_threshold)
    save_image(picture, args.out)
    print(f"gallery: {len(names)} people enrolled from {photo.name} ({', '.join(names)})")
    print(
        f"query: {photo.name} mirrored, turned 8 degrees, scaled 2/3, plus a stranger from sample3.jpg"
    )
    for f, m in sorted(zip(faces, matches), key=lambda fm: fm[0].box.x):
        print(f"  {m.label:<8} distance {m.distance:.3f}  {box_text(f.box, 0)}")
    print(f"labelled image written to {args.out} ({faces.backend} backend)")
    return 0
