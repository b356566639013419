"""Explain FaceRecognitionNet: from an aligned face to a 128-number descriptor, and how
descriptors of different faces compare.

Follows ``FaceResults.with_face_descriptors``: each face's dlib-style square (from its
68 points) is cut out, padded (centred) and resized to 150x150; a ResNet turns it into
128 numbers. Two descriptors closer than 0.6 (Euclidean) count as the same person in
face-api.js's ``FaceMatcher``; the distance matrix shows that rule at work.
"""

from __future__ import annotations

import numpy as np

from ..face_recognition_net import const as recognition_const
from ..nets import get_net
from . import pictures as pic
from .faces import descriptor_crops, faces_section, find_faces, walk_face_net
from .page import Page

#: face-api.js ``FaceMatcher``'s default distance threshold.
THRESHOLD = 0.6


def distances(descriptors) -> np.ndarray:
    """(N, N) Euclidean distances between descriptors (N, 128), in float64."""
    d = np.asarray(descriptors, np.float64)
    return np.sqrt(((d[:, None, :] - d[None, :, :]) ** 2).sum(axis=2))


def explain_recognition(page: Page, image, bk, max_faces: int = 6) -> dict:
    """Add the recognition-net sections to ``page`` for one RGB image."""
    net = get_net("recognition")
    faces = find_faces(image, bk, max_faces, landmarks=True)
    crops = descriptor_crops(image, faces)
    faces_section(page, image, faces, crops, "its dlib-style square, placed by its 68 landmarks")
    desc, _ = walk_face_net(page, net, crops, bk, recognition_const)
    desc = np.asarray(bk.to_numpy(desc), np.float64)  # (N, 128)

    scale = pic.Scale.for_values(desc)
    page.section(
        "descriptor",
        "The descriptors",
        "The net's output for a face is 128 numbers. They mean nothing one by one; the net "
        "was trained so that two photos of one person give nearby points in 128-D space and "
        "photos of different people distant ones. One row per face, one cell per number.",
    )
    rows = scale.colours(desc)  # (N, 128, 3)
    cell_w, cell_h = 5, 22
    strip = pic.to_pil(rows).resize((128 * cell_w, len(desc) * cell_h), pic.Image.NEAREST)
    labels = pic.grid(
        [strip.crop((0, k * cell_h, strip.width, (k + 1) * cell_h)) for k in range(len(desc))],
        [f"face #{k + 1}: |d| = {np.linalg.norm(v):.3f}" for k, v in enumerate(desc)],
        cols=1,
    )
    page.image(
        "descriptors.png",
        pic.stack([labels, pic.colour_bar(scale, 320)]),
        f"Descriptor strips, one row per face. Colour: {scale.describe()}.",
    )

    dist = distances(desc)
    page.section(
        "distances",
        "Distances between the faces",
        f"The Euclidean distance between every two descriptors. face-api.js's FaceMatcher "
        f"calls two faces the same person when their distance is below {THRESHOLD}: the "
        "line on the colour bar; such cells get a white frame. The diagonal is 0 (each face "
        "against itself).",
    )
    page.image(
        "distances.png",
        pic.distance_matrix(dist, THRESHOLD),
        f"Distance matrix of the {len(desc)} faces. Colour: viridis from 0 (dark purple) to "
        f"{max(1.2, float(dist.max())):.3g} (yellow); the mark is the {THRESHOLD} threshold.",
    )
    off = dist[~np.eye(len(dist), dtype=bool)]
    if off.size:
        pairs = int((off < THRESHOLD).sum()) // 2  # each pair appears twice in the matrix
        page.para(
            f"Between different faces: smallest distance {off.min():.3f}, largest "
            f"{off.max():.3f}; {pairs} {'pair' if pairs == 1 else 'pairs'} below {THRESHOLD}."
        )
    return {"faces": len(desc)}
