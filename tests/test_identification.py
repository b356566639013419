"""Identification end to end, measured on a labelled set made from the sample photos.

The six sample photos show different people in each (22 faces, all strangers to each
other), so each face is one identity and its 'photos' are made by transformation: a
square region 2.2x the face box cut from the sample (clamped to the image), then
(a) as is, (b) mirrored, (c) rotated by +15 degrees about its centre, and (d) scaled to
45%, darkened to 80% and JPEG-recompressed at quality 40. Each photo is detected again
(``detect_single_face``), its descriptor computed with both alignments, and queried
leave-one-out against a FaceMatcher of all other photos (threshold 0.6).

This does not depend on face-api.js: it checks that the descriptors identify people,
and that the similarity alignment (which undoes in-plane rotation) helps on rotated
photos. Run with ``-s`` to see the accuracies.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

import faceapi_np as fa

KINDS = ("a", "b", "c", "d")
KIND_NAMES = {
    "a": "as is",
    "b": "mirrored",
    "c": "rotated +15 deg",
    "d": "45%, dark, JPEG q40",
}
REGION_SCALE = 2.2
ROTATION_DEG = 15
THRESHOLD = 0.6

# Measured (numpy backend): 78 of 88 photos have a face found; leave-one-out accuracy
# 74/78 = 94.9% with the faceapi alignment, 77/78 = 98.7% with the similarity alignment;
# rotated photos alone 19/21 and 21/21. The floors are about 5 points below.
MIN_PHOTOS_FOUND = 74
FLOOR = {"faceapi": 0.89, "similarity": 0.93}
ROTATED_SIMILARITY_FLOOR = 0.90


@dataclass
class Photo:
    identity: str
    kind: str
    image: np.ndarray
    descriptor: dict | None = None  # alignment -> (128,) descriptor; None: no face found
    roll: float | None = None  # roll angle of the face found, radians


def face_region_square(img: Image.Image, box: fa.Box) -> Image.Image:
    """The square 2.2x the box's larger side, centred on the box, clamped to the image."""
    side = REGION_SCALE * max(box.width, box.height)
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    left, top = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    right, bottom = min(img.width, round(cx + side / 2)), min(img.height, round(cy + side / 2))
    return img.crop((left, top, right, bottom))


def transformed(region: Image.Image, kind: str) -> Image.Image:
    if kind == "a":
        return region
    if kind == "b":
        return ImageOps.mirror(region)
    if kind == "c":
        return region.rotate(ROTATION_DEG, resample=Image.BICUBIC)
    small = region.resize((round(region.width * 0.45), round(region.height * 0.45)), Image.BICUBIC)
    small = ImageEnhance.Brightness(small).enhance(0.8)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=40)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def originals(weights_dir, samples_dir):
    """identity -> (the sample photo, its SSD face with landmarks and both descriptors)."""
    out = {}
    for i in range(1, 7):
        img = Image.open(samples_dir / f"sample{i}.jpg").convert("RGB")
        faces = fa.detect_all_faces(np.asarray(img)).with_face_landmarks()
        descs = {al: faces.with_face_descriptors(al) for al in ("faceapi", "similarity")}
        for j, face in enumerate(faces):
            out[f"sample{i} face {j}"] = (
                img,
                face,
                {al: descs[al][j].descriptor for al in descs},
            )
    return out


@pytest.fixture(scope="module")
def photos(originals) -> list[Photo]:
    """The 88 photos, each detected again and described with both alignments."""
    out = []
    for identity, (img, face, _) in originals.items():
        region = face_region_square(img, face.box)
        for kind in KINDS:
            photo = Photo(identity, kind, np.asarray(transformed(region, kind)))
            found = fa.detect_single_face(photo.image)
            if found is not None:
                found = found.with_face_landmarks()
                photo.roll = found.landmarks.roll_angle()
                photo.descriptor = {
                    al: found.with_face_descriptor(al).descriptor
                    for al in ("faceapi", "similarity")
                }
            out.append(photo)
    return out


def leave_one_out(photos: list[Photo], alignment: str) -> dict:
    """(photo index -> FaceMatch) for every photo with a face, against all the others."""
    usable = [i for i, p in enumerate(photos) if p.descriptor is not None]
    out = {}
    for i in usable:
        by_label: dict[str, list] = {}
        for j in usable:
            if j != i:
                by_label.setdefault(photos[j].identity, []).append(photos[j].descriptor[alignment])
        matcher = fa.FaceMatcher(
            [fa.LabeledFaceDescriptors(k, v) for k, v in by_label.items()], THRESHOLD
        )
        out[i] = matcher.find_best_match(photos[i].descriptor[alignment])
    return out


@pytest.fixture(scope="module")
def answers(photos) -> dict:
    """alignment -> {photo index: best match}."""
    return {al: leave_one_out(photos, al) for al in ("faceapi", "similarity")}


def accuracy(photos, matches, kinds=KINDS) -> tuple[int, int]:
    """(correct, asked) over the photos of the given kinds that had a face."""
    asked = [i for i in matches if photos[i].kind in kinds]
    correct = sum(matches[i].label == photos[i].identity for i in asked)  # never 'unknown'
    return correct, len(asked)


def test_the_set_is_22_identities_of_4_photos(originals, photos):
    assert len(originals) == 22
    assert len(photos) == 88
    assert [len([p for p in photos if p.identity == k]) for k in originals] == [4] * 22


def test_faces_are_found_in_most_photos(photos):
    missing = [f"{p.identity} ({KIND_NAMES[p.kind]})" for p in photos if p.descriptor is None]
    print(f"\nno face found in {len(missing)} of {len(photos)} photos: " + "; ".join(missing))
    assert len(photos) - len(missing) >= MIN_PHOTOS_FOUND
    # the untouched photos lose at most one face
    assert sum(p.descriptor is None for p in photos if p.kind == "a") <= 1


def test_the_face_found_in_a_photo_is_the_face_it_was_cut_around(originals, photos):
    # an 'as is' photo's descriptor is nearest to the one computed in the whole sample
    # photo for the same face (measured at most 0.38; different people here are 0.46 apart
    # or more), so the re-detected face is the intended one, not a neighbour
    for p in photos:
        if p.kind == "a" and p.descriptor is not None:
            for al in ("faceapi", "similarity"):
                dist = {
                    k: fa.euclidean_distance(p.descriptor[al], v[2][al])
                    for k, v in originals.items()
                }
                assert min(dist, key=dist.get) == p.identity, (p.identity, al)
                assert dist[p.identity] < 0.42, (p.identity, al, dist[p.identity])


def test_rotated_photos_show_the_rotation_in_the_roll_angle(originals, photos):
    # Pillow rotates counter-clockwise as displayed, i.e. by -15 deg in image coordinates
    by_key = {(p.identity, p.kind): p for p in photos}
    diffs = [
        math.degrees(by_key[k, "c"].roll - by_key[k, "a"].roll)
        for k in originals
        if by_key[k, "a"].roll is not None and by_key[k, "c"].roll is not None
    ]
    assert len(diffs) >= 18
    assert np.median(diffs) == pytest.approx(-ROTATION_DEG, abs=3)


@pytest.mark.parametrize("alignment", ["faceapi", "similarity"])
def test_leave_one_out_accuracy(photos, answers, alignment):
    matches = answers[alignment]
    correct, asked = accuracy(photos, matches)
    per_kind = {k: accuracy(photos, matches, (k,)) for k in KINDS}
    wrong = [
        f"{photos[i].identity} ({photos[i].kind}) -> {m}"
        for i, m in matches.items()
        if m.label != photos[i].identity
    ]
    print(
        f"\n{alignment} alignment: {correct}/{asked} = {correct / asked:.1%} correct; per kind "
        + ", ".join(f"{k} {c}/{n}" for k, (c, n) in per_kind.items())
        + ("; wrong: " + "; ".join(wrong) if wrong else "")
    )
    assert correct / asked >= FLOOR[alignment]


def test_similarity_alignment_helps_on_rotated_photos(photos, answers):
    fa_c, n = accuracy(photos, answers["faceapi"], ("c",))
    sim_c, n2 = accuracy(photos, answers["similarity"], ("c",))
    assert n == n2
    print(
        f"\nrotated photos (c): faceapi alignment {fa_c}/{n} = {fa_c / n:.1%}, "
        f"similarity alignment {sim_c}/{n} = {sim_c / n:.1%}"
    )
    assert sim_c >= fa_c
    assert sim_c / n >= ROTATED_SIMILARITY_FLOOR
