"""Explain FaceLandmark68Net (or its tiny twin): from a face crop to 68 points and an
aligned face box, in pictures.

Follows ``FaceResults.with_face_landmarks``: each detection box is cut out, padded
(centred) to a square and resized to 112x112; the net's 136 outputs are (x, y) of 68
points relative to that padded square, which ``landmarks_from_output`` maps back to the
crop. The points then give face-api.js's two alignments: the padded bounding box of the
points (``align``, used by the expression and age/gender nets) and the dlib-style square
(``align_dlib``, the recognition net's crop).
"""

from __future__ import annotations

import numpy as np

from ..extract import crop_face
from ..face_feature_extractor import const as extractor_const
from ..face_landmark_net.net import landmarks_from_output
from ..landmarks import GROUPS, FaceLandmarks68
from ..nets import get_net
from . import pictures as pic
from .faces import (
    SHOWN_SIDE,
    crop_row,
    detection_crops,
    faces_section,
    find_faces,
    walk_face_net,
)
from .page import Page

POINTS_SIDE = 320


def _group_colours() -> np.ndarray:
    """(68, 3) colour of every point by its group."""
    colours = np.zeros((68, 3), np.uint8)
    for k, sl in enumerate(GROUPS.values()):
        colours[sl] = pic.PALETTE[k % len(pic.PALETTE)]
    return colours


def explain_landmarks(
    page: Page, image, bk, max_faces: int = 6, net_name: str = "landmarks"
) -> dict:
    """Add the landmark-net sections to ``page`` for one RGB image."""
    net = get_net(net_name)
    faces = find_faces(image, bk, max_faces)
    crops = detection_crops(image, faces)
    faces_section(page, image, faces, crops, "its detection box (clipped to the image)")
    raw, seen = walk_face_net(page, net, crops, bk, extractor_const)
    raw = np.asarray(bk.to_numpy(raw))  # (N, 136) relative to the padded square
    sizes = [(c.shape[1], c.shape[0]) for c in crops]
    rel = landmarks_from_output(raw, sizes)
    marks = [FaceLandmarks68(r, s) for r, s in zip(rel, sizes)]  # relative to each crop
    if len(faces):  # in image pixels, shifted to each detection as the chain does it
        marks = [f.extended_with_landmarks(m).landmarks for f, m in zip(faces, marks)]

    colours = _group_colours()
    page.section(
        "points",
        "68 points",
        "The last layer outputs 136 numbers: x and y of 68 points, each between 0 and 1 "
        "across the padded 112x112 square. Undoing the padding puts them on the crop. The "
        "points come in groups (iBUG 300-W order): jaw 0-16, eyebrows 17-26, nose 27-35, "
        "eyes 36-47, mouth 48-67.",
    )
    on_input = pic.draw_points(
        pic.to_pil(seen[0]).resize((POINTS_SIDE, POINTS_SIDE), pic.Image.BILINEAR),
        raw[0].reshape(68, 2) * POINTS_SIDE,
        colours,
        3,
    )
    crop = pic.fit(pic.to_pil(crops[0]), POINTS_SIDE)
    on_crop = pic.draw_points(crop, rel[0] * crop.size, colours, 3)
    key = pic.legend(
        [
            (pic.PALETTE[k % len(pic.PALETTE)], name.replace("_", " "))
            for k, name in enumerate(GROUPS)
        ]
    )
    page.image(
        "points.png",
        pic.stack([on_input, on_crop, key], horizontal=True),
        "Face #1: the raw output on the padded input square, the same points on the crop, "
        "and the colour of each group.",
    )
    shown = pic.fit(pic.to_pil(image), SHOWN_SIDE)
    f = shown.width / image.shape[1]
    every = np.concatenate([m.positions for m in marks]) * f
    page.image(
        "points-all.png",
        pic.draw_points(shown, every, np.tile(colours, (len(marks), 1)), 2),
        f"The points of all {len(marks)} faces in the image's pixels.",
    )

    page.section(
        "alignment",
        "Alignment",
        "From the points face-api.js derives two boxes. The aligned rect (green) is the "
        "points' bounding box grown by 20%; the expression and age/gender nets see it. The "
        "dlib-style box (orange) is a square of side (eye-to-mouth distance) / 0.45 placed "
        "so that the eyes and mouth sit at fixed places; the recognition net sees it. Grey: "
        "the detection box.",
    )
    boxes, cols, dlib_crops = [], [], []
    for k, m in enumerate(marks):
        det = faces[k].detection.box if len(faces) else None
        for box, colour in (
            (det, (170, 170, 170)),
            (m.align(), pic.PALETTE[1]),
            (m.align_dlib(), pic.PALETTE[3]),
        ):
            if box is not None:
                boxes.append((box.x * f, box.y * f, box.right * f, box.bottom * f))
                cols.append(colour)
        dlib_crops.append(crop_face(image, m.align_dlib()))
    page.image(
        "alignment.png",
        pic.draw_boxes(shown, boxes, cols),
        "Detection, aligned rect and dlib box of each face.",
    )
    page.table(
        ("face", "aligned rect x", "y", "width", "height", "dlib box x", "y", "width", "height"),
        [
            (k + 1, *(f"{v:.1f}" for b in (m.align(), m.align_dlib()) for v in _xywh(b)))
            for k, m in enumerate(marks)
        ],
        numeric=tuple(range(9)),
    )
    page.image(
        "aligned-crops.png",
        crop_row(dlib_crops),
        "The dlib-style squares, as the recognition net will receive them.",
    )
    return {"faces": len(marks)}


def _xywh(box) -> tuple:
    return box.x, box.y, box.width, box.height
