"""The faces a face-net report works on, and the section that shows them.

The landmark, recognition, expression and age/gender nets each look at one face crop.
Their reports find the faces with the SSD detector (the chain of
:func:`~faceapi_np.api.detect_all_faces`), keep the best ``max_faces`` and cut the crops
the net would see. When no face is found the whole image is the one crop, as
face-api.js's ``computeFaceDescriptor(image)`` treats it.
"""

from __future__ import annotations

import numpy as np

from ..api import aligned_face_crop, detect_all_faces
from ..extract import crop_face
from . import pictures as pic
from .page import Page

SHOWN_SIDE = 640
CROP_SIDE = 112  # crops are drawn this large in rows of faces


def find_faces(image, bk, max_faces: int, landmarks: bool = False):
    """The best ``max_faces`` faces (SSD), with 68-point landmarks when asked."""
    faces = detect_all_faces(image, backend=bk.name)
    del faces[max_faces:]  # in place: the chain object keeps its image
    if landmarks and len(faces):
        faces = faces.with_face_landmarks(backend=bk.name)
    return faces


def detection_crops(image, faces) -> list:
    """Each face's detection box cut out (what the landmark nets see); the whole image
    when there is no face."""
    if not len(faces):
        return [image]
    return [crop_face(image, f.detection) for f in faces]


def aligned_crops(image, faces) -> list:
    """Each face's aligned rect cut out (the expression and age/gender nets' crops):
    face-api.js's ``extractAllFacesAndComputeResults`` after landmarks."""
    if not len(faces):
        return [image]
    return [crop_face(image, f.aligned_rect) for f in faces]


def descriptor_crops(image, faces) -> list:
    """Each face's dlib-style square crop (the recognition net's input)."""
    if not len(faces):
        return [image]
    return [aligned_face_crop(image, f.landmarks) for f in faces]


def faces_section(page: Page, image, faces, crops, what: str) -> None:
    """The image with the faces numbered, and the crops the net is given."""
    page.section(
        "faces",
        "The faces and their crops",
        f"This net looks at one face at a time. The faces were found by the SSD detector "
        f"(best {len(faces)} kept) and each was cut out as {what}.",
    )
    if not len(faces):
        page.para("No face was found, so the whole image is treated as one face crop.")
    shown = pic.fit(pic.to_pil(image), SHOWN_SIDE)
    f = shown.width / image.shape[1]
    xyxy = [
        (b.x * f, b.y * f, (b.x + b.width) * f, (b.y + b.height) * f)
        for b in (r.detection.box for r in faces)
    ]
    labels = [f"#{k + 1}" for k in range(len(faces))]
    page.image(
        "faces.png",
        pic.draw_boxes(shown, np.reshape(xyxy, (-1, 4)), [pic.PALETTE[2]] * len(faces), labels),
        "The faces, numbered best score first.",
    )
    row = crop_row(crops)
    page.image("crops.png", row, f"The {len(crops)} crops the net receives, face #1 first.")


def crop_row(crops, side: int = CROP_SIDE, labels=None):
    """Crops side by side, each scaled to ``side`` pixels on its longer side."""
    tiles = [pic.fit(pic.to_pil(c), side) for c in crops]
    labels = labels or [f"#{k + 1}: {c.shape[1]}x{c.shape[0]}" for k, c in enumerate(crops)]
    return pic.grid(tiles, labels, cols=min(6, len(tiles)))


def walk_face_net(page: Page, net, crops, bk, const):
    """Input, layer table and layers of a face net on the crops (face #1 shown).

    ``const`` is the net's constants module (``INPUT_SIZE``, ``MEAN_RGB``,
    ``INPUT_DIVISOR``). Returns the net's raw output and the batch as the net saw it.
    """
    from ..image import to_batch
    from .walk import input_section, layer_sections, run_with_tap, summary_section

    batch = to_batch(crops, const.INPUT_SIZE, center=True, bk=bk)
    seen = np.asarray(bk.to_numpy(batch))
    outputs, summary, raw = run_with_tap(net, batch, bk)
    mean, divisor = const.MEAN_RGB, const.INPUT_DIVISOR
    input_section(
        page,
        seen[0],
        (seen[0] - np.asarray(mean, np.float32)) / np.float32(divisor),
        f"(x - mean RGB {mean}) / {divisor:g}",
        title="The input as the net sees it (face #1)",
    )
    summary_section(page, summary)
    layer_sections(page, outputs, summary, what="face #1")
    return raw, seen
