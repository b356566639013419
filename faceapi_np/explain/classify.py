"""Explain FaceExpressionNet and AgeGenderNet: from a face crop to probabilities.

Both follow the chain after landmarks (``with_face_expressions``,
``with_age_and_gender``): each face's aligned rect is cut out, padded (centred) and
resized to 112x112. The expression net ends in 7 logits and a softmax; the age/gender
net in two heads, age in years (one number) and two gender logits (softmaxed).
"""

from __future__ import annotations

from ..age_gender_net import const as age_gender_const
from ..face_expression_net import EXPRESSIONS
from ..face_feature_extractor import const as extractor
from ..nets import get_net
from . import pictures as pic
from .faces import CROP_SIDE, aligned_crops, faces_section, find_faces, walk_face_net
from .page import Page


def _per_face(page, crops, charts, caption):
    tiles = []
    for crop, chart in zip(crops, charts):
        tiles.append(pic.stack([pic.fit(pic.to_pil(crop), CROP_SIDE), chart], horizontal=True))
    labels = [f"face #{k + 1}" for k in range(len(tiles))]
    page.image(
        "probabilities.png", pic.grid(tiles, labels, cols=1 if len(tiles) < 4 else 2), caption
    )


def _faces_through(page: Page, image, bk, max_faces: int, name: str, const):
    """The faces' aligned crops, and the sections of net ``name`` walking through them."""
    net = get_net(name)
    faces = find_faces(image, bk, max_faces, landmarks=True)
    crops = aligned_crops(image, faces)
    faces_section(page, image, faces, crops, "its aligned rect (the landmarks' box + 20%)")
    walk_face_net(page, net, crops, bk, const)
    return net, crops


def explain_expression(page: Page, image, bk, max_faces: int = 6) -> dict:
    """Add the expression-net sections to ``page`` for one RGB image."""
    net, crops = _faces_through(page, image, bk, max_faces, "expression", extractor)
    preds = net.predict_expressions(crops, bk)
    page.section(
        "probabilities",
        "Expression probabilities per face",
        "The last layer gives 7 logits; a softmax turns them into probabilities that sum "
        "to 1. The longest (blue) bar is the expression face-api.js reports.",
    )
    charts = [pic.bars(EXPRESSIONS, [p[e] for e in EXPRESSIONS]) for p in preds]
    _per_face(page, crops, charts, "Each face with its 7 probabilities (bar length 0..1).")
    page.table(
        ("face", *EXPRESSIONS),
        [(k + 1, *(f"{p[e]:.3f}" for e in EXPRESSIONS)) for k, p in enumerate(preds)],
        numeric=tuple(range(len(EXPRESSIONS) + 1)),
    )
    return {"faces": len(preds)}


def explain_age_gender(page: Page, image, bk, max_faces: int = 6) -> dict:
    """Add the age/gender-net sections to ``page`` for one RGB image."""
    net, crops = _faces_through(page, image, bk, max_faces, "age_gender", age_gender_const)
    preds = net.predict_age_and_gender(crops, bk)
    page.section(
        "probabilities",
        "Age and gender per face",
        "Two heads share the features: age is one number (years, a regression), gender two "
        "logits softmaxed into P(male) and P(female); face-api.js reports the gender whose "
        "probability exceeds 0.5.",
    )
    charts = []
    for p in preds:
        male = p["gender_probability"] if p["gender"] == "male" else 1.0 - p["gender_probability"]
        charts.append(
            pic.stack([pic.bars(("male", "female"), (male, 1.0 - male)), _age_label(p["age"])])
        )
    _per_face(
        page, crops, charts, "Each face with P(male), P(female) (bar length 0..1) and its age."
    )
    page.table(
        ("face", "age", "gender", "probability"),
        [
            (k + 1, f"{p['age']:.1f}", p["gender"], f"{p['gender_probability']:.3f}")
            for k, p in enumerate(preds)
        ],
        numeric=(0, 1, 3),
    )
    return {"faces": len(preds)}


def _age_label(age: float):
    img = pic.Image.new("RGB", (200, 18), pic.BACKGROUND)
    pic.ImageDraw.Draw(img).text((0, 2), f"age {age:.1f} years", fill=pic.INK, font=pic.font(13))
    return img
